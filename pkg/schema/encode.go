package schema

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Mode is the CloudEvents NATS binding content mode.
type Mode int

const (
	// ModeBinary (the default) puts the data in the payload and every
	// attribute in a ce- header.
	ModeBinary Mode = iota
	// ModeStructured puts the whole event, in the JSON event format, in
	// the payload, with Content-Type application/cloudevents+json.
	ModeStructured
)

func (m Mode) String() string {
	switch m {
	case ModeBinary:
		return "binary"
	case ModeStructured:
		return "structured"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode reads "binary" or "structured" (configuration files).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "binary", "":
		return ModeBinary, nil
	case "structured":
		return ModeStructured, nil
	}
	return 0, fmt.Errorf("schema: unknown content mode %q: use binary or structured", s)
}

// EncoderConfig configures an Encoder.
type EncoderConfig struct {
	// Cluster names the CUCM cluster. It is the second token of every
	// subject (escaped with EscapeToken) and, by default, the source.
	Cluster string
	// Source is the CloudEvents source, a URI reference. Default
	// "cti://<cluster>" (the cluster path-escaped).
	Source string
	// Mode is the content mode; the zero value is ModeBinary.
	Mode Mode
}

// Validate reports every problem of the configuration.
func (c EncoderConfig) Validate() error {
	var errs []error
	if c.Cluster == "" {
		errs = append(errs, errors.New("schema: EncoderConfig.Cluster is empty: set the CUCM cluster name (e.g. \"lab\")"))
	} else if err := checkString("cluster", c.Cluster); err != nil {
		errs = append(errs, fmt.Errorf("schema: EncoderConfig.Cluster: %w: use printable characters", err))
	}
	if c.Source != "" {
		if err := checkString("source", c.Source); err != nil {
			errs = append(errs, fmt.Errorf("schema: EncoderConfig.Source: %w", err))
		} else if _, err := url.Parse(c.Source); err != nil {
			errs = append(errs, fmt.Errorf("schema: EncoderConfig.Source %q is not a URI reference (%w): use e.g. cti://<cluster> or leave it empty", c.Source, err))
		}
	}
	if c.Mode != ModeBinary && c.Mode != ModeStructured {
		errs = append(errs, fmt.Errorf("schema: EncoderConfig.Mode %d is unknown: use ModeBinary or ModeStructured", int(c.Mode)))
	}
	return errors.Join(errs...)
}

// Encoder turns domain events into NATS messages carrying CloudEvents. It
// is immutable after NewEncoder and safe for concurrent use.
type Encoder struct {
	cfg        EncoderConfig
	prefix     []byte // "cti.<escaped cluster>."
	source     string
	sourcePct  string // percent-encoded source (binary headers)
	sourceJSON []byte // JSON string of the source (structured)
}

// NewEncoder validates cfg and returns an Encoder.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{cfg: cfg, prefix: appendSubjectPrefix(nil, cfg.Cluster)}
	e.source = cfg.Source
	if e.source == "" {
		e.source = DefaultSource(cfg.Cluster)
	}
	e.sourcePct = PercentEncode(e.source)
	e.sourceJSON = appendJSONString(nil, e.source)
	return e, nil
}

// DefaultSource is the source of a cluster's events when none is
// configured: cti://<cluster>, the cluster path-escaped.
func DefaultSource(cluster string) string {
	return SourceScheme + url.PathEscape(cluster)
}

// Source returns the CloudEvents source the Encoder writes.
func (e *Encoder) Source() string { return e.source }

// Cluster returns the configured cluster name.
func (e *Encoder) Cluster() string { return e.cfg.Cluster }

// Mode returns the configured content mode.
func (e *Encoder) Mode() Mode { return e.cfg.Mode }

// Msg is one encoded event, ready for JetStream: publish Data on Subject
// with Header (convertible to nats.Header) and Nats-Msg-Id = ID (Header
// already holds it). EntityKey is the ordering key: events with the same
// key must be published in order.
//
// Header and Data come from memory the Encoder reuses once the message is
// released (Msg.Release, Lease.Release); a message never released is
// simply garbage collected.
type Msg struct {
	Subject   string
	ID        string
	EntityKey string
	Header    map[string][]string
	Data      []byte

	mem *msgMem // the memory behind Header and Data
	gen uint64  // mem's lease this message holds
}

// ErrInvalidEvent is wrapped by Encode's errors about the event itself.
var ErrInvalidEvent = errors.New("schema: invalid event")

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// keepBuf returns a grown scratch buffer to the pool, unless an unusually
// large event made it big enough to be worth freeing.
func keepBuf(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*bp = b[:0]
	}
}

// Encode turns ev into a message. published is stamped into
// data.times.published (in UTC). It rejects events the catalogue does not
// know, a family that does not match the event name, a missing session or
// session sequence (the id would not be unique), a missing entity where
// the family needs one, data sections that do not match the family, and
// strings that are not valid CloudEvents Strings.
func (e *Encoder) Encode(ev *Event, published time.Time) (Msg, error) {
	k, err := checkEvent(ev)
	if err != nil {
		return Msg{}, err
	}
	d := ev.Data // a copy: Encode never changes the caller's event
	if d.Event == "" {
		d.Event = ev.Name
	}
	if d.EventID == 0 {
		d.EventID = k.spec.ID
	}
	if !published.IsZero() {
		d.Times.Published = published.UTC()
	}
	if e.cfg.Mode == ModeStructured {
		return e.encodeStructured(ev, k, &d)
	}
	return e.encodeBinary(ev, k, &d)
}

// checkEvent validates the parts of ev the envelope is made of.
func checkEvent(ev *Event) (*kind, error) {
	if ev == nil {
		return nil, fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	k := kinds[ev.Name]
	if k == nil {
		return nil, fmt.Errorf("%w: event name %q is not in schema.Events: add it to the catalogue (jtapi.go)", ErrInvalidEvent, ev.Name)
	}
	if ev.Family != k.spec.Family {
		return nil, fmt.Errorf("%w: event %s belongs to family %q, not %q", ErrInvalidEvent, ev.Name, k.spec.Family, ev.Family)
	}
	if ev.Session == "" {
		return nil, fmt.Errorf("%w: event %s has no Session: the id %s needs the provider session", ErrInvalidEvent, ev.Name, "<session>-<seq>")
	}
	if ev.SessionSeq == 0 {
		return nil, fmt.Errorf("%w: event %s has SessionSeq 0: number a session's events from 1", ErrInvalidEvent, ev.Name)
	}
	if ev.Family.HasEntity() {
		if ev.Entity == "" {
			return nil, fmt.Errorf("%w: %s event %s has no Entity", ErrInvalidEvent, ev.Family, ev.Name)
		}
	} else if ev.Entity != "" {
		return nil, fmt.Errorf("%w: %s event %s must not have an Entity (got %q)", ErrInvalidEvent, ev.Family, ev.Name, ev.Entity)
	}
	for _, a := range [...]struct{ name, v string }{
		{"subject (Entity)", ev.Entity}, {ExtProviderSession + " (Session)", ev.Session},
		{ExtCTIManager, ev.CTIManager}, {ExtTraceParent, ev.TraceParent}, {ExtCTIFrame, ev.Frame},
	} {
		if err := checkString(a.name, a.v); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, ev.Name, err)
		}
	}
	if err := checkSections(ev.Family, &ev.Data); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, ev.Name, err)
	}
	if err := checkAttrTime(ev.Time); err != nil {
		return nil, fmt.Errorf("%w: %s: attribute time: %w", ErrInvalidEvent, ev.Name, err)
	}
	return k, nil
}

// checkSections enforces Data's contract: exactly the family's own
// section is set; media may accompany terminal, call and route events.
func checkSections(f Family, d *Data) error {
	sections := [...]struct {
		f   Family
		set bool
	}{
		{FamilyProvider, d.Provider != nil}, {FamilyTerminal, d.Terminal != nil},
		{FamilyAddress, d.Address != nil}, {FamilyCall, d.Call != nil},
		{FamilyRoute, d.Route != nil}, {FamilyBridge, d.Bridge != nil},
	}
	for _, s := range sections {
		switch {
		case s.f == f && !s.set:
			return fmt.Errorf("data.%s is nil: a %s event carries its %s section", f, f, f)
		case s.f != f && s.set:
			return fmt.Errorf("data.%s is set on a %s event: only data.%s belongs there", s.f, f, f)
		}
	}
	if d.Media != nil && !MediaAllowed(f) {
		return fmt.Errorf("data.media is set on a %s event: media accompanies terminal, call and route events only", f)
	}
	return nil
}

// MediaAllowed reports whether a family's data may carry a media section.
func MediaAllowed(f Family) bool {
	return f == FamilyTerminal || f == FamilyCall || f == FamilyRoute
}

// checkAttrTime rejects times whose RFC 3339 form is not valid (year
// outside 0–9999). The zero time means "no time attribute".
func checkAttrTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return errYearRange
	}
	return nil
}

// appendAttrTime appends the canonical form of a Timestamp attribute, as
// sdk-go's types.Format writes it: UTC, RFC 3339 with nanoseconds.
func appendAttrTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if utcFast(t) {
		return appendUTC(b, t)
	}
	return t.AppendFormat(b, time.RFC3339Nano)
}

// span is a header value inside the message's string buffer.
type span struct {
	key        string
	start, end int
	lit        string // constant value, used when start == end == -1
}

func (e *Encoder) encodeBinary(ev *Event, k *kind, d *Data) (Msg, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := (*bp)[:0]

	// The data first: its exact size is then known.
	b, err := marshalData(b, d)
	if err != nil {
		return Msg{}, fmt.Errorf("%w: %s: data: %w", ErrInvalidEvent, ev.Name, err)
	}
	mem := getMem(hdrHint)
	data := mem.setData(b)

	// Then every string of the message in one buffer, converted once.
	b = b[:0]
	b, keyEnd := appendSubject(b, e.prefix, ev)
	subjEnd := len(b)
	b = appendEventID(b, ev.Session, ev.SessionSeq)
	idEnd := len(b)

	var spans [maxHeaders]span
	n := 0
	lit := func(key, v string) {
		spans[n] = span{key: key, start: -1, end: -1, lit: v}
		n++
	}
	mark := func(key string, start int) {
		spans[n] = span{key: key, start: start, end: len(b)}
		n++
	}
	lit(HeaderSpecVersion, SpecVersion)
	start := len(b)
	if pctClean(ev.Session) {
		spans[n] = span{key: HeaderID, start: subjEnd, end: idEnd} // the id needs no encoding
		n++
	} else {
		b = appendPct(b, ev.Session)
		b = append(b, '-')
		b = appendPadded(b, ev.SessionSeq, idSeqWidth)
		mark(HeaderID, start)
	}
	lit(HeaderSource, e.sourcePct)
	lit(HeaderType, k.typ) // catalogue names and families need no encoding
	if ev.Family.HasEntity() {
		start = len(b)
		b = appendPct(b, ev.Entity)
		mark(HeaderSubject, start)
	}
	if !ev.Time.IsZero() {
		start = len(b)
		b = appendAttrTime(b, ev.Time)
		mark(HeaderTime, start)
	}
	lit(HeaderDataContentType, DataContentType)
	lit(HeaderDataSchema, k.dataSchema)
	lit(HeaderJTAPIEvent, k.spec.Name)
	start = len(b)
	b = appendPadded(b, ev.Sequence, seqWidth)
	mark(HeaderSequence, start)
	if ev.CTIManager != "" {
		start = len(b)
		b = appendPct(b, ev.CTIManager)
		mark(HeaderCTIManager, start)
	}
	start = len(b)
	b = appendPct(b, ev.Session)
	mark(HeaderProviderSession, start)
	if ev.TraceParent != "" {
		start = len(b)
		b = appendPct(b, ev.TraceParent)
		mark(HeaderTraceParent, start)
	}
	if ev.Frame != "" {
		start = len(b)
		b = appendPct(b, ev.Frame)
		mark(HeaderCTIFrame, start)
	}

	s := string(b) // the message's one allocation once memory is reused
	keepBuf(bp, b)
	for i := 0; i < n; i++ {
		sp := &spans[i]
		v := sp.lit
		if sp.start >= 0 {
			v = s[sp.start:sp.end]
		}
		mem.header(i, sp.key, v)
	}
	id := s[subjEnd:idEnd]
	mem.header(n, HeaderMsgID, id)
	return Msg{Subject: s[:subjEnd], ID: id, EntityKey: s[:keyEnd], Header: mem.hdr, Data: data, mem: mem, gen: mem.gen}, nil
}

func (e *Encoder) encodeStructured(ev *Event, k *kind, d *Data) (Msg, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := (*bp)[:0]

	b = append(b, `{"specversion":"1.0","id":`...)
	idStart := len(b)
	b = append(b, '"')
	b = appendEventID(b, ev.Session, ev.SessionSeq)
	b = append(b, '"')
	if !jsonCleanString(b[idStart:]) {
		b = appendJSONString(b[:idStart], EventID(ev.Session, ev.SessionSeq))
	}
	b = append(b, `,"source":`...)
	b = append(b, e.sourceJSON...)
	b = jStr(b, `,"type":`, k.typ)
	if ev.Family.HasEntity() {
		b = jStr(b, `,"subject":`, ev.Entity)
	}
	if !ev.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = appendAttrTime(b, ev.Time)
		b = append(b, '"')
	}
	b = append(b, `,"datacontenttype":"`+DataContentType+`"`...)
	b = jStr(b, `,"dataschema":`, k.dataSchema)
	b = jStr(b, `,"`+ExtJTAPIEvent+`":`, k.spec.Name)
	b = append(b, `,"`+ExtSequence+`":"`...)
	b = appendPadded(b, ev.Sequence, seqWidth)
	b = append(b, '"')
	b = jStrOmit(b, `,"`+ExtCTIManager+`":`, ev.CTIManager)
	b = jStr(b, `,"`+ExtProviderSession+`":`, ev.Session)
	b = jStrOmit(b, `,"`+ExtTraceParent+`":`, ev.TraceParent)
	b = jStrOmit(b, `,"`+ExtCTIFrame+`":`, ev.Frame)
	b = append(b, `,"data":`...)
	b, err := marshalData(b, d)
	if err != nil {
		*bp = (*bp)[:0]
		return Msg{}, fmt.Errorf("%w: %s: data: %w", ErrInvalidEvent, ev.Name, err)
	}
	b = append(b, '}')
	mem := getMem(2)
	payload := mem.setData(b)

	b, keyEnd := appendSubject(b[:0], e.prefix, ev)
	subjEnd := len(b)
	b = appendEventID(b, ev.Session, ev.SessionSeq)
	s := string(b)
	keepBuf(bp, b)
	subject, id := s[:subjEnd], s[subjEnd:]
	mem.header(0, HeaderContentType, ContentTypeStructured)
	mem.header(1, HeaderMsgID, id)
	return Msg{Subject: subject, ID: id, EntityKey: s[:keyEnd], Header: mem.hdr, Data: payload, mem: mem, gen: mem.gen}, nil
}

// jsonCleanString reports whether the quoted bytes need no JSON escaping.
func jsonCleanString(q []byte) bool {
	for _, c := range q[1 : len(q)-1] {
		if c >= 0x80 || !jsonSafe[c] {
			return false
		}
	}
	return true
}
