package schema

import (
	"strconv"
	"strings"
)

// CloudEvents constants of the bridge's events.
const (
	// SpecVersion is the CloudEvents version every event carries.
	SpecVersion = "1.0"
	// TypePrefix starts every event type: io.ctibridge.<family>.<Name>.v1.
	TypePrefix = "io.ctibridge."
	// TypeVersion ends every event type. A breaking change to an event's
	// data would move that event to .v2 (and a new schema file).
	TypeVersion = ".v1"
	// SchemaBaseURI is the base of the dataschema URIs; the schema of a
	// family is SchemaBaseURI + "<family>.v1.json", which is also the $id
	// of the committed file docs/schemas/<family>.v1.json.
	SchemaBaseURI = "https://ctibridge.io/schemas/"
	// DataContentType is the content type of every event's data.
	DataContentType = "application/json"
	// ContentTypeStructured is the NATS Content-Type header of a
	// structured-mode message.
	ContentTypeStructured = "application/cloudevents+json; charset=utf-8"
	// SourceScheme prefixes the default source: cti://<cluster>.
	SourceScheme = "cti://"
)

// Extension attribute names (CloudEvents extension names are lower-case
// alphanumeric).
const (
	ExtJTAPIEvent      = "jtapievent"
	ExtSequence        = "sequence"
	ExtCTIManager      = "ctimanager"
	ExtProviderSession = "providersession"
	ExtTraceParent     = "traceparent"
	// ExtCTIFrame is the provenance of an event: the CTI link frame it was
	// derived from, "<providerId>:<frame sequence>" (Event.Frame).
	ExtCTIFrame = "ctiframe"
)

// Header names written in binary mode (lower-case, as the NATS binding
// prescribes; Decode matches names case-insensitively). HeaderMsgID is
// JetStream's deduplication header and carries the CloudEvent id in both
// modes.
const (
	HeaderSpecVersion     = "ce-specversion"
	HeaderID              = "ce-id"
	HeaderSource          = "ce-source"
	HeaderType            = "ce-type"
	HeaderSubject         = "ce-subject"
	HeaderTime            = "ce-time"
	HeaderDataContentType = "ce-datacontenttype"
	HeaderDataSchema      = "ce-dataschema"
	HeaderJTAPIEvent      = "ce-" + ExtJTAPIEvent
	HeaderSequence        = "ce-" + ExtSequence
	HeaderCTIManager      = "ce-" + ExtCTIManager
	HeaderProviderSession = "ce-" + ExtProviderSession
	HeaderTraceParent     = "ce-" + ExtTraceParent
	HeaderCTIFrame        = "ce-" + ExtCTIFrame
	HeaderContentType     = "Content-Type"
	HeaderMsgID           = "Nats-Msg-Id"
)

// idSeqWidth is the zero-padded width of the sequence part of an event id:
// ids of one session then sort by sequence up to 10^12 events.
const idSeqWidth = 12

// seqWidth is the zero-padded width of the sequence extension: the
// CloudEvents sequence extension is a String that MUST order
// lexicographically, and 20 digits hold every uint64.
const seqWidth = 20

// EventID returns the deterministic CloudEvent id of the event numbered
// seq in a provider session: "<session>-<seq>", seq zero-padded to 12
// digits (wider past 10^12). The suffix after the last '-' is all digits,
// so the id splits back into (session, seq) unambiguously and two
// different pairs never share an id. The same event re-sent gets the same
// id, which is also its JetStream Nats-Msg-Id.
func EventID(session string, seq uint64) string {
	b := make([]byte, 0, len(session)+1+idSeqWidth)
	return string(appendEventID(b, session, seq))
}

func appendEventID(b []byte, session string, seq uint64) []byte {
	b = append(b, session...)
	b = append(b, '-')
	return appendPadded(b, seq, idSeqWidth)
}

// ParseEventID splits an id made by EventID into its session and
// sequence.
func ParseEventID(id string) (session string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 || len(id)-i-1 < idSeqWidth {
		return "", 0, false
	}
	digits := id[i+1:]
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return "", 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return "", 0, false
	}
	// Reject forms EventID never makes (extra leading zeros past the
	// width), so the mapping stays one-to-one.
	if len(digits) > idSeqWidth && digits[0] == '0' {
		return "", 0, false
	}
	return id[:i], n, true
}

// FormatSequence is the canonical form of the sequence extension: the
// per-entity sequence zero-padded to 20 digits, so that string order is
// numeric order as the CloudEvents sequence extension requires.
func FormatSequence(seq uint64) string {
	return string(appendPadded(make([]byte, 0, seqWidth), seq, seqWidth))
}

func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// EventType returns the CloudEvents type of an event kind:
// io.ctibridge.<family>.<name>.v1.
func EventType(family Family, name string) string {
	return TypePrefix + string(family) + "." + name + TypeVersion
}

// ParseEventType splits a type made by EventType.
func ParseEventType(typ string) (family Family, name string, ok bool) {
	rest, found := strings.CutPrefix(typ, TypePrefix)
	if !found {
		return "", "", false
	}
	rest, found = strings.CutSuffix(rest, TypeVersion)
	if !found {
		return "", "", false
	}
	f, n, found := strings.Cut(rest, ".")
	if !found || n == "" || strings.IndexByte(n, '.') >= 0 || !knownFamily(Family(f)) {
		return "", "", false
	}
	return Family(f), n, true
}

// DataSchemaURI returns the dataschema of a family's events.
func DataSchemaURI(family Family) string {
	return SchemaBaseURI + string(family) + ".v1.json"
}

// SchemaFile is the file name of a family's schema under docs/schemas/.
func SchemaFile(family Family) string {
	return string(family) + ".v1.json"
}

func knownFamily(f Family) bool {
	switch f {
	case FamilyProvider, FamilyTerminal, FamilyAddress, FamilyCall, FamilyRoute, FamilyBridge:
		return true
	}
	return false
}

// HasEntity reports whether a family's subjects carry an entity token
// (provider and bridge events concern the one provider and the bridge).
func (f Family) HasEntity() bool {
	return f != FamilyProvider && f != FamilyBridge
}

// kind is the precomputed envelope of one event kind.
type kind struct {
	spec       EventSpec
	typ        string
	dataSchema string
}

var kinds = func() map[string]*kind {
	m := make(map[string]*kind, len(Events))
	for _, s := range Events {
		m[s.Name] = &kind{spec: s, typ: EventType(s.Family, s.Name), dataSchema: DataSchemaURI(s.Family)}
	}
	return m
}()
