// Package schema is the event vocabulary shared by every part of the bridge:
// the domain Event the engine produces, its CloudEvent data types, the JTAPI
// event catalogue with ids, states and causes, the CloudEvents encoding for
// NATS (binary and structured content modes), the subject scheme with its
// reversible token escaping, and the JSON Schemas of the data.
//
// It is the leaf of the module: it imports no other project package and
// nothing of NATS (headers are map[string][]string, convertible to
// nats.Header), so producers and consumers can share it freely.
//
// # Envelope
//
// Every event is a CloudEvents 1.0 event:
//
//   - id: EventID(session, sessionSeq) = "<session>-<seq>", seq zero-padded
//     to 12 digits; deterministic, so a resent event keeps its id, which is
//     also its JetStream Nats-Msg-Id.
//   - source: "cti://<cluster>" unless configured.
//   - type: io.ctibridge.<family>.<Event>.v1, one per event kind of Events.
//   - subject: the entity (terminal name, DN, global call id, route point
//     address); absent for provider and bridge events.
//   - time: when CTI reported the change (UTC, RFC 3339 with nanoseconds).
//   - datacontenttype application/json; dataschema
//     https://ctibridge.io/schemas/<family>.v1.json (docs/schemas/).
//   - extensions: jtapievent (the JTAPI or bridge event name), sequence
//     (per entity within the session, a String zero-padded to 20 digits so
//     string order is numeric order, as the CloudEvents sequence extension
//     requires), ctimanager, providersession, and, when known, traceparent
//     and ctiframe (the CTI link frame the event was derived from).
//   - data: the JSON of Data, with times.published stamped by Encode.
//
// # Usage
//
//	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: "lab"})
//	msg, err := enc.Encode(&ev, time.Now())
//	// publish msg.Data on msg.Subject with nats.Header(msg.Header);
//	// msg.Header already holds Nats-Msg-Id = msg.ID.
//	msg.Release() // optional: once acked, the next Encode reuses its memory
//
//	env, ev, err := schema.Decode(map[string][]string(m.Header), m.Data)
//
// In binary mode (the default) the payload is the data and each attribute
// is a lower-case ce- header whose value is percent-encoded as the
// CloudEvents NATS binding prescribes; in structured mode the payload is
// the whole event in the JSON event format with Content-Type
// application/cloudevents+json. Decode detects the mode, matches header
// names case-insensitively and rejects malformed input with errors naming
// the attribute.
//
// The hot paths avoid reflection: Encode writes the data JSON with a
// hand-written appender and Decode reads it with a hand-written reader;
// both are checked against encoding/json (differential tests and fuzzing),
// and both step aside for encoding/json if the Data types gain a field
// they do not know (TestDataLayout then fails until they are updated).
//
// StructuredJSON turns any decoded message into one JSON-format event
// (what replay exports as JSON lines); ToCloudEvent turns it into an sdk-go
// event.Event, validated by sdk-go, for other CloudEvents tooling.
//
// Subjects are cti.<cluster>.<family>[.<entity>].<Event>, call events
// cti.<cluster>.call.<callid>.<line>.<Event> (Subject); the event stream
// stores a call event under cti.<cluster>.call.<callid> (StoredSubject,
// CallTransform), one subject per call. subject.go defines the layout and
// every filter consumers use (CallSubject, LineFilter, FamilyFilter,
// EventFilter, ClusterFilter) and the state view's KV keys (LineKey,
// DeviceKey); docs/jetstream.md has the measured decision behind it.
// EscapeToken keeps [A-Za-z0-9+_-] and writes every other byte as ~XX, so
// no identifier can inject '.', '*', '>' or whitespace; KeyToken does the
// same for KV keys with '='.
//
// # Concurrency
//
// An Encoder is immutable after NewEncoder and may be shared by
// goroutines; Decode and the other functions are pure.
//
// # Regenerating the schemas and docs
//
// The JSON Schemas in docs/schemas/ and the generated parts of
// docs/events.md come from the Go types; after changing them run
//
//	go generate ./pkg/schema
//
// (the tests fail while the committed files are stale).
package schema

//go:generate go test -run ^TestGenerated -update .
