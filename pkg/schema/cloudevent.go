package schema

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// StructuredJSON returns a decoded message as one event in the CloudEvents
// JSON format: the payload a structured-mode Encoder would have written
// for it (byte for byte for the bridge's own events), whichever mode it
// travelled in. data must be the JSON data Decode read (for a structured
// message, the "data" member). Replay exports use it for JSON lines.
func StructuredJSON(env Envelope, data []byte) []byte {
	b := make([]byte, 0, len(data)+512)
	b = jStr(b, `{"specversion":`, env.SpecVersion)
	b = jStr(b, `,"id":`, env.ID)
	b = jStr(b, `,"source":`, env.Source)
	b = jStr(b, `,"type":`, env.Type)
	b = jStrOmit(b, `,"subject":`, env.Subject)
	if !env.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = appendAttrTime(b, env.Time)
		b = append(b, '"')
	}
	b = jStrOmit(b, `,"datacontenttype":`, env.DataContentType)
	b = jStrOmit(b, `,"dataschema":`, env.DataSchema)
	b = jStrOmit(b, `,"`+ExtJTAPIEvent+`":`, env.JTAPIEvent)
	b = append(b, `,"`+ExtSequence+`":"`...)
	b = appendPadded(b, env.Sequence, seqWidth)
	b = append(b, '"')
	b = jStrOmit(b, `,"`+ExtCTIManager+`":`, env.CTIManager)
	b = jStrOmit(b, `,"`+ExtProviderSession+`":`, env.Session)
	b = jStrOmit(b, `,"`+ExtTraceParent+`":`, env.TraceParent)
	b = jStrOmit(b, `,"`+ExtCTIFrame+`":`, env.Frame)
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

// ToCloudEvent returns a decoded message as an sdk-go event, for
// consumers that hand events to other CloudEvents tooling (HTTP senders,
// SDK clients). The event is checked with sdk-go's own validation.
func ToCloudEvent(env Envelope, data []byte) (*event.Event, error) {
	e := event.New(env.SpecVersion)
	e.SetID(env.ID)
	e.SetSource(env.Source)
	e.SetType(env.Type)
	if env.Subject != "" {
		e.SetSubject(env.Subject)
	}
	if !env.Time.IsZero() {
		e.SetTime(env.Time)
	}
	if env.DataSchema != "" {
		e.SetDataSchema(env.DataSchema)
	}
	ext := [...]struct{ name, v string }{
		{ExtJTAPIEvent, env.JTAPIEvent}, {ExtSequence, FormatSequence(env.Sequence)},
		{ExtCTIManager, env.CTIManager}, {ExtProviderSession, env.Session}, {ExtTraceParent, env.TraceParent},
		{ExtCTIFrame, env.Frame},
	}
	for _, x := range ext {
		if x.v != "" {
			e.SetExtension(x.name, x.v)
		}
	}
	ct := env.DataContentType
	if ct == "" {
		ct = DataContentType
	}
	if err := e.SetData(ct, data); err != nil {
		return nil, fmt.Errorf("schema: event %s: data: %w", env.ID, err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("schema: event %s is not a valid CloudEvent: %w", env.ID, err)
	}
	return &e, nil
}
