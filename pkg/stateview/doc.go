// Package stateview keeps the current state of every line and device in a
// JetStream KV bucket (default "cti-state", PRODUCT.md §4.2): one key per
// line, line.<dn>, and one per device, device.<name> (schema.LineKey,
// schema.DeviceKey), whose value is the line's or device's service state
// and the calls on it, with each call's connection and terminal
// connection states and parties. A consumer reads a key and then watches
// it: the value changes whenever a call comes, changes state or goes, and
// whenever the line or device goes out of or back into service.
//
// The bridge feeds a View with the events it publishes (Apply), in order.
// The View folds them with pkg/callstate on a goroutine of its own and
// writes the keys they changed. Writes are coalesced per key: while a
// key's write is unacknowledged further changes only mark it dirty, and
// its latest value is written once the acknowledgement is in, so the
// bucket always ends at the latest state, a slow or absent NATS never
// slows the bridge down, and memory stays bounded by the number of keys.
// Only lines and devices the provider reported (address and terminal
// events) get keys, so the far ends of calls never do: the bucket holds a
// set of keys bounded by the configuration, history 1, no TTL.
//
// A View may instead be fed from the stream (a member of a
// high-availability group, which must keep the view across hand-overs):
// Config.Seed starts it from the fold of the log, and Config.Writing
// keeps it from writing while the member is a standby; the member that
// becomes active writes every key again, so the bucket ends at the fold
// of the stream whichever member wrote last.
//
// The values are JSON documents (Line, Device), marshalled by Marshal;
// LineOf and DeviceOf compute them from a callstate.State, so a consumer
// holding the fold of the stream gets exactly the bucket's value.
//
// # Usage
//
//	v, err := stateview.New(stateview.Config{Conn: nc, Logger: log})
//	go v.Run(ctx)
//	for each event published { v.Apply(ev) }
//	v.Close() // writes what is pending, then Run returns
package stateview
