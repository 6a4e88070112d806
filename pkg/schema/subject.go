package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The subject layout (PRODUCT.md §4.2). Its measured design decision is
// the ADR "Subject layout" in docs/jetstream.md; in short: the stream may
// hold at most one subject per call plus a set bounded by the
// configuration, because the server keeps an index entry in memory for
// every distinct subject it retains.
//
// The bridge publishes on (what live core-NATS subscribers see):
//
//	cti.<cluster>.provider.<event>
//	cti.<cluster>.terminal.<name>.<event>
//	cti.<cluster>.address.<dn>.<event>
//	cti.<cluster>.call.<callid>.<line>.<event>
//	cti.<cluster>.route.<address>.<event>
//	cti.<cluster>.bridge.<event>
//
// and the event stream stores a call event under its call alone,
//
//	cti.<cluster>.call.<callid>
//
// (the stream's subject transform, CallTransform, drops the line and event
// tokens on the way in); every other family is stored as published and is
// bounded by the configuration (devices, lines, route points) times the
// event catalogue. <line> is the escaped DN of the line a call event
// concerns (CallLine), "~" (EscapeToken("")) for call-wide events.
//
// So one call's history is the literal stored subject (CallSubject), one
// line's call events a live filter (LineFilter), one family FamilyFilter,
// and one event type EventFilter (live for call events, live and stored
// for the other families).

// Layout identifies a subject layout. Streams record theirs in their
// metadata (LayoutMetadataKey) so that provisioning never mixes two
// layouts in one stream and readers pick the right filters.
type Layout int

const (
	// LayoutV1 is the first layout: cti.<cluster>.call.<callid>.<event>
	// stored as published, about 22 distinct subjects per call. Streams
	// of that layout carry no layout metadata.
	LayoutV1 Layout = 1
	// LayoutV2 stores one subject per call (see above).
	LayoutV2 Layout = 2
	// CurrentLayout is the layout this code publishes.
	CurrentLayout = LayoutV2
)

// LayoutMetadataKey is the stream metadata key holding the layout number.
const LayoutMetadataKey = "ctibridge.subject_layout"

// String is the layout's metadata value ("1", "2").
func (l Layout) String() string { return strconv.Itoa(int(l)) }

// ParseLayout reads a stream's layout metadata value; "" (no metadata)
// is LayoutV1, the layout that predates the metadata.
func ParseLayout(v string) (Layout, error) {
	switch v {
	case "", "1":
		return LayoutV1, nil
	case "2":
		return LayoutV2, nil
	}
	return 0, fmt.Errorf("schema: unknown subject layout %q in stream metadata %s: this version reads layouts 1 and 2", v, LayoutMetadataKey)
}

// CallHistoryFilter is the stream filter of one call's stored events in
// layout l: the literal CallSubject in LayoutV2,
// cti.<cluster>.call.<callid>.> in LayoutV1. Cluster "" matches every
// cluster.
func (l Layout) CallHistoryFilter(cluster, callID string) string {
	if l == LayoutV1 {
		return CallLiveFilter(cluster, callID)
	}
	return CallSubject(cluster, callID)
}

// Subject returns the subject the bridge publishes an event on, every
// variable token escaped with EscapeToken. Provider and bridge events have
// no entity token (their Entity is ignored); call events carry the line
// they concern (CallLine) before the event name.
func Subject(cluster string, ev *Event) string {
	b := make([]byte, 0, 80)
	b, _ = appendSubject(b, appendSubjectPrefix(nil, cluster), ev)
	return string(b)
}

// StoredSubject returns the subject the event stream holds the event
// under: Subject without the line and event tokens for a call event (the
// stream's CallTransform), Subject itself otherwise.
func StoredSubject(cluster string, ev *Event) string {
	b, key := appendSubject(nil, appendSubjectPrefix(nil, cluster), ev)
	if ev.Family == FamilyCall {
		return string(b[:key])
	}
	return string(b)
}

// CallLine returns the DN of the line a call event concerns: its
// connection's address, else its terminal connection's, else "" (a
// call-wide event such as CallActiveEv, CallInvalidEv, a call change or a
// transfer or conference record).
func CallLine(ev *Event) string {
	c := ev.Data.Call
	switch {
	case c == nil:
		return ""
	case c.Connection != nil:
		return c.Connection.Address
	case c.TerminalConnection != nil:
		return c.TerminalConnection.Address
	}
	return ""
}

// appendSubjectPrefix appends "cti.<cluster>.".
func appendSubjectPrefix(b []byte, cluster string) []byte {
	b = append(b, SubjectRoot...)
	b = append(b, '.')
	b = appendEscaped(b, cluster)
	return append(b, '.')
}

// appendSubject appends the published subject given the precomputed
// prefix "cti.<cluster>.", and returns the length of b up to the end of
// the entity key (EntityKey) within it.
func appendSubject(b, prefix []byte, ev *Event) ([]byte, int) {
	b = append(b, prefix...)
	b = appendEscaped(b, string(ev.Family))
	if ev.Family.HasEntity() {
		b = append(b, '.')
		b = appendEscaped(b, ev.Entity)
	}
	key := len(b)
	b = append(b, '.')
	if ev.Family == FamilyCall {
		b = appendEscaped(b, CallLine(ev))
		b = append(b, '.')
	}
	return appendEscaped(b, ev.Name), key
}

// EntityKey returns the ordering key of a published subject: the entity
// it concerns, cti.<cluster>.<family>[.<entity>] — for a call the stored
// subject cti.<cluster>.call.<callid>, whatever the line. Events with the
// same key must be kept in order.
func EntityKey(subject string) string {
	// Family is the third token; a call subject keeps four tokens, any
	// other drops its last one.
	dots, i := 0, 0
	for ; i < len(subject) && dots < 2; i++ {
		if subject[i] == '.' {
			dots++
		}
	}
	if strings.HasPrefix(subject[i:], string(FamilyCall)+".") {
		rest := subject[i+len(FamilyCall)+1:]
		if j := strings.IndexByte(rest, '.'); j >= 0 {
			return subject[:i+len(FamilyCall)+1+j]
		}
		return subject
	}
	if j := strings.LastIndexByte(subject, '.'); j >= 0 {
		return subject[:j]
	}
	return subject
}

// ErrSubject is wrapped by ParseSubject's errors.
var ErrSubject = errors.New("schema: invalid subject")

// SubjectParts is a subject taken apart by ParseSubject, every token
// unescaped.
type SubjectParts struct {
	Cluster string
	Family  Family
	// Entity is "" for provider and bridge subjects.
	Entity string
	// Line is the DN of a published call subject ("" for a call-wide
	// event, a stored call subject, and other families).
	Line string
	// Name is the event name; "" for a stored call subject (the event
	// name is in the ce-type and ce-jtapievent headers).
	Name string
	// Stored is true for a stored call subject, cti.<cluster>.call.<id>.
	Stored bool
}

// ParseSubject inverts Subject and StoredSubject (of the current layout).
// It rejects subjects neither can produce.
func ParseSubject(subject string) (SubjectParts, error) {
	var p SubjectParts
	toks := strings.Split(subject, ".")
	if len(toks) < 4 || toks[0] != SubjectRoot {
		return p, fmt.Errorf("%w %q: want %s.<cluster>.<family>[.<entity>][.<line>].<event>", ErrSubject, subject, SubjectRoot)
	}
	p.Family = Family(toks[2])
	if !knownFamily(p.Family) {
		return p, fmt.Errorf("%w %q: unknown family %q", ErrSubject, subject, toks[2])
	}
	want := 4
	switch {
	case p.Family == FamilyCall && len(toks) == 4:
		p.Stored = true
	case p.Family == FamilyCall:
		want = 6
	case p.Family.HasEntity():
		want = 5
	}
	if len(toks) != want {
		return p, fmt.Errorf("%w %q: family %s subjects have %d tokens, not %d", ErrSubject, subject, p.Family, want, len(toks))
	}
	var err error
	if p.Cluster, err = UnescapeToken(toks[1]); err != nil {
		return p, fmt.Errorf("%w %q: cluster: %w", ErrSubject, subject, err)
	}
	if p.Family.HasEntity() {
		if p.Entity, err = UnescapeToken(toks[3]); err != nil {
			return p, fmt.Errorf("%w %q: entity: %w", ErrSubject, subject, err)
		}
	}
	if p.Stored {
		return p, nil
	}
	if want == 6 {
		if p.Line, err = UnescapeToken(toks[4]); err != nil {
			return p, fmt.Errorf("%w %q: line: %w", ErrSubject, subject, err)
		}
	}
	if p.Name, err = UnescapeToken(toks[want-1]); err != nil {
		return p, fmt.Errorf("%w %q: event name: %w", ErrSubject, subject, err)
	}
	return p, nil
}

// clusterToken is the escaped cluster, or "*" (every cluster) for "".
func clusterToken(cluster string) string {
	if cluster == "" {
		return "*"
	}
	return EscapeToken(cluster)
}

// ClusterFilter matches every subject of a cluster, cti.<cluster>.>
// (cti.*.> for ""): what the stream captures.
func ClusterFilter(cluster string) string {
	return SubjectRoot + "." + clusterToken(cluster) + ".>"
}

// FamilyFilter matches one family of a cluster, published or stored:
// cti.<cluster>.<family>.>; cluster "" matches every cluster.
func FamilyFilter(cluster string, f Family) string {
	return SubjectRoot + "." + clusterToken(cluster) + "." + string(f) + ".>"
}

// EntityFilter matches the events of one terminal, address or route
// point, published and stored alike: cti.<cluster>.<family>.<entity>.>
// (cluster "" matches every cluster). A call's events have their own
// filters: CallSubject (stored) and CallLiveFilter (published).
func EntityFilter(cluster string, f Family, entity string) string {
	return SubjectRoot + "." + clusterToken(cluster) + "." + string(f) + "." + EscapeToken(entity) + ".>"
}

// CallSubject is one call's stored subject, cti.<cluster>.call.<callid>:
// the stream filter of its history. Cluster "" matches every cluster.
func CallSubject(cluster, callID string) string {
	return SubjectRoot + "." + clusterToken(cluster) + "." + string(FamilyCall) + "." + EscapeToken(callID)
}

// CallLiveFilter matches one call's published events,
// cti.<cluster>.call.<callid>.> (a live subscription).
func CallLiveFilter(cluster, callID string) string {
	return CallSubject(cluster, callID) + ".>"
}

// LineFilter matches the published call events of one line (address) in
// every call, cti.<cluster>.call.*.<dn>.>: a screen pop's live
// subscription. The stream does not keep the line token (one subject per
// call); a line's current calls are in the state view (the cti-state KV
// bucket, key LineKey).
func LineFilter(cluster, dn string) string {
	return SubjectRoot + "." + clusterToken(cluster) + "." + string(FamilyCall) + ".*." + EscapeToken(dn) + ".>"
}

// EventFilter matches one event type: cti.<cluster>.call.*.*.<event> for
// a call event (live only: stored call subjects have no event token),
// cti.<cluster>.<family>.*.<event> for terminal, address and route events
// and cti.<cluster>.<family>.<event> for provider and bridge events
// (both published and stored). The event's family comes from the
// catalogue; an unknown name gives "".
func EventFilter(cluster, name string) string {
	spec, ok := Spec(name)
	if !ok {
		return ""
	}
	s := SubjectRoot + "." + clusterToken(cluster) + "." + string(spec.Family) + "."
	switch {
	case spec.Family == FamilyCall:
		s += "*.*."
	case spec.Family.HasEntity():
		s += "*."
	}
	return s + EscapeToken(name)
}

// CallTransform is the event stream's subject transform: it maps a
// published call subject to its stored subject,
// cti.<cluster>.call.<callid>.<line>.<event> → cti.<cluster>.call.<callid>
// (in NATS subject-mapping syntax). Cluster "" transforms every cluster.
func CallTransform(cluster string) (source, destination string) {
	c := clusterToken(cluster)
	prefix := SubjectRoot + "." + c + "." + string(FamilyCall) + "."
	source = prefix + "*.*.*"
	if cluster == "" {
		return source, SubjectRoot + ".{{wildcard(1)}}." + string(FamilyCall) + ".{{wildcard(2)}}"
	}
	return source, prefix + "{{wildcard(1)}}"
}

// LineKey is the state view's key of a line (address), line.<dn>, the DN
// escaped with KeyToken.
func LineKey(dn string) string { return "line." + KeyToken(dn) }

// DeviceKey is the state view's key of a device (terminal),
// device.<name>, the name escaped with KeyToken.
func DeviceKey(name string) string { return "device." + KeyToken(name) }
