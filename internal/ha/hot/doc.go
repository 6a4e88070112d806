// Package hot is the memory of a hot standby bridge: the events its own
// provider produced while another instance was active, the fingerprints of
// what that instance stored, and the takeover rule that picks the events
// the previous active never stored (published, flagged recovered) from
// those it did (not published twice).
//
// It is pure: schema events in, schema events out; no NATS, no engine, no
// clock of its own (times come with the events).
//
// # Identity of an event seen by two bridges
//
// Each bridge has its own provider session, so the same CTI change reaches
// both as two frames with their own sequences, and the two engines give
// the resulting JTAPI events their own ids (ids derive from the provider
// session). What the two copies share is what CTIManager said: the entity
// (call id, device, line), the JTAPI event the change maps to, the time
// CTIManager stamped on the change (the link protocol's timeNs, the
// event's upstream time, to the nanosecond), and the object it concerns
// (connection address, terminal, states, cause). A Fingerprint hashes
// exactly that, and nothing a bridge adds (session, sequences, receive
// time, CTIManager name, provider id). Events a bridge originates itself
// (link losses, gap records, its own lifecycle) carry its own clock and
// never match another bridge's: they are the bridge's own.
//
// # Takeover
//
// After the new active has written its epoch marker, nothing the previous
// active sends can be stored any more; the standby has read the log up to
// its marker. Both providers received the CTI changes in the same order,
// and the previous active stored a prefix of what it produced, so the
// standby's events split at a watermark: the last of its events whose
// fingerprint the log holds. Events before it were stored (or are the
// standby's own start-up: its provider's snapshot); events after it were
// not, except any that still match a stored fingerprint (counted as
// matched, not published). The rest are published in the standby's order,
// flagged recovered, renumbered as a session of their own (session
// sequence and per-entity sequences from 1), so consumers see no hole in
// any sequence.
//
// The two engines read the same changes at their own pace, so the
// standby may cut its session before it has read the last changes the
// previous active stored. Then the previous active's last stored change
// is not in the window, and the takeover returns a Behind: the
// fingerprints of the stored events no window event matched, against
// which the new active checks what its engine reads after the cut (those
// are not published again) until that last stored change has come by.
package hot
