// Package e2e runs the demo end to end and checks what lands in JetStream
// with an independent consumer: only nats.go, nats-server (to open the
// store) and the CloudEvents SDK — no project code reads the messages.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/demo/demotest"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

type storedEvent struct {
	seq     uint64
	subject string
	ce      cloudevents.Event
	data    map[string]any
}

// demoOptions are the options of the end-to-end demo runs. The server
// heartbeat is one second, not 500ms: the default cluster's in-service
// wave of a few hundred devices can keep the bridge busy for longer than
// two 500ms client heartbeats under the race detector on a loaded runner,
// and a second, unplanned failover is not what these tests read.
func demoOptions(t *testing.T, dir string, out *bytes.Buffer) demo.Options {
	return demo.Options{
		DataDir: dir, NATSListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Heartbeat: time.Second,
		Seed: 3, Rate: 5, Cluster: "lab", Mode: "binary", Instance: "e2e-" + fmt.Sprint(time.Now().UnixNano()),
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Out: out,
	}
}

// runDemo runs `bridge demo` in-process through a failover of the primary
// CTIManager (internal/demo/demotest) and returns the data directory it
// left behind. before, if set, runs once the provider is in service.
func runDemo(t *testing.T, before func(demo.Running)) string {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	err := demotest.RunFailover(t, demoOptions(t, dir, &out), before)
	checkDemoRun(t, err, &out)
	return dir
}

// runTimedDemo runs `bridge demo` in-process for the faults tune sets on
// the demo's own timers (RunFor, FailPrimaryAfter, KillNATSLeaderAfter),
// as a user running it with those flags would, and returns the data
// directory it left behind.
func runTimedDemo(t *testing.T, tune func(*demo.Options)) string {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	o := demoOptions(t, dir, &out)
	tune(&o)
	err := demo.Run(context.Background(), o)
	checkDemoRun(t, err, &out)
	return dir
}

func checkDemoRun(t *testing.T, err error, out *bytes.Buffer) {
	t.Helper()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "events acknowledged by JetStream") {
		t.Fatalf("demo printed no summary:\n%s", out.String())
	}
}

// readStore opens the JetStream store left in dir with a fresh server and
// decodes every message as a binary-mode CloudEvent.
func readStore(t *testing.T, dir string) []storedEvent {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: dir, DontListen: true, NoSigs: true, ServerName: "ctibridge"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	return readStream(t, nc)
}

// readStream decodes every message of the stream CTI as a binary-mode
// CloudEvent, with nats.go's ordered consumer.
func readStream(t *testing.T, nc *nats.Conn) []storedEvent {
	t.Helper()
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "CTI")
	if err != nil {
		t.Fatalf("stream CTI: %v", err)
	}
	info, _ := stream.Info(ctx)
	total := info.State.Msgs
	cons, err := stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []storedEvent
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(500, natsjs.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, _ := m.Metadata()
			out = append(out, decodeBinary(t, md.Sequence.Stream, m.Subject(), m.Headers(), m.Data()))
		}
		// An empty batch is not the end: on a cluster the ordered consumer
		// may be recreating itself (its node's leader changed under load).
		// The context bounds the whole read.
		if n == 0 && ctx.Err() != nil {
			t.Fatalf("read %d of %d messages", len(out), total)
		}
	}
	return out
}

// decodeBinary implements the CloudEvents NATS binding's binary mode on its
// own: ce- headers (names compared case-insensitively), percent-decoded
// once; the payload is the data.
func decodeBinary(t *testing.T, seq uint64, subject string, h nats.Header, data []byte) storedEvent {
	t.Helper()
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") && strings.HasPrefix(strings.ToLower(v[0]), "application/cloudevents") {
			t.Fatalf("seq %d: structured content type in binary mode", seq)
		}
	}
	ev := cloudevents.New()
	attrs := map[string]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "ce-") {
			continue
		}
		val, err := url.PathUnescape(v[0])
		if err != nil {
			t.Fatalf("seq %d header %s=%q: %v", seq, k, v[0], err)
		}
		attrs[strings.TrimPrefix(lk, "ce-")] = val
	}
	if attrs["specversion"] != "1.0" {
		t.Fatalf("seq %d: specversion %q", seq, attrs["specversion"])
	}
	for name, val := range attrs {
		switch name {
		case "specversion":
		case "id":
			ev.SetID(val)
		case "source":
			ev.SetSource(val)
		case "type":
			ev.SetType(val)
		case "subject":
			ev.SetSubject(val)
		case "datacontenttype":
			ev.SetDataContentType(val)
		case "dataschema":
			ev.SetDataSchema(val)
		case "time":
			tm, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				t.Fatalf("seq %d: time %q: %v", seq, val, err)
			}
			ev.SetTime(tm)
		default:
			ev.SetExtension(name, val)
		}
	}
	if err := ev.SetData(ev.DataContentType(), data); err != nil {
		t.Fatal(err)
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("seq %d (%s): not a valid CloudEvent: %v", seq, subject, err)
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("seq %d: data is not JSON: %v", seq, err)
	}
	return storedEvent{seq: seq, subject: subject, ce: ev, data: d}
}

func loadSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	files, _ := filepath.Glob("../../docs/schemas/*.json")
	if len(files) == 0 {
		t.Fatal("no schemas in docs/schemas")
	}
	byID := map[string]*jsonschema.Schema{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		byID[id] = nil
	}
	for id := range byID {
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("compile %s: %v", id, err)
		}
		byID[id] = s
	}
	return byID
}

func TestDemoFailoverLandsInJetStreamAsValidCloudEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for ~10 s")
	}
	// Calls between the dial-plan lines of the default cluster
	// (+4930123, \+4930, *55, #1), scripted in the simulator before the
	// failover, so the failover finds them in progress.
	dns := ctisim.DefaultDialPlanDNs
	dir := runDemo(t, func(r demo.Running) {
		for _, pair := range [][2]string{{dns[0], dns[2]}, {dns[1], dns[3]}} {
			if _, err := r.Sim.Place(traffic.Basic, pair[0], pair[1], ""); err != nil {
				t.Errorf("placing %s → %s: %v", pair[0], pair[1], err)
			}
		}
	})
	events := readStore(t, dir)
	checkFailoverOrder(t, checkStoredEvents(t, events))
	checkDialPlanLines(t, events, dns)
}

// checkStoredEvents checks what every stored event must be: a valid
// CloudEvent, stored once, on its cluster's subjects, its data valid
// against its dataschema, its jtapievent extension naming it. It returns
// the event names in stream order.
func checkStoredEvents(t *testing.T, events []storedEvent) []string {
	t.Helper()
	if len(events) < 500 {
		t.Fatalf("only %d events stored", len(events))
	}
	schemas := loadSchemas(t)

	ids := map[string]uint64{}
	var names []string
	var stopping []map[string]any
	for _, e := range events {
		if prev, dup := ids[e.ce.ID()]; dup {
			t.Fatalf("ce-id %s stored twice (seq %d and %d)", e.ce.ID(), prev, e.seq)
		}
		ids[e.ce.ID()] = e.seq
		if !strings.HasPrefix(e.subject, "cti.lab.") {
			t.Fatalf("subject %q outside cti.lab.>", e.subject)
		}
		s := schemas[e.ce.DataSchema()]
		if s == nil {
			t.Fatalf("seq %d: dataschema %q is not one of docs/schemas", e.seq, e.ce.DataSchema())
		}
		var inst any
		_ = json.Unmarshal(e.ce.Data(), &inst)
		if err := s.Validate(inst); err != nil {
			t.Fatalf("seq %d (%s) data does not match %s: %v", e.seq, e.subject, e.ce.DataSchema(), err)
		}
		name, _ := e.ce.Extensions()["jtapievent"].(string)
		if name == "" {
			t.Fatalf("seq %d: no jtapievent extension", e.seq)
		}
		if name != e.data["event"] {
			t.Fatalf("seq %d: jtapievent %q but data.event %v", e.seq, name, e.data["event"])
		}
		if !strings.HasSuffix(e.subject, "."+name) {
			t.Fatalf("seq %d: subject %q does not end with the event name %q", e.seq, e.subject, name)
		}
		names = append(names, name)
		if name == "BridgeStopping" {
			b, _ := e.data["bridge"].(map[string]any)
			stopping = append(stopping, b)
		}
	}
	// One stop, and BridgeStopping says why: a timed demo ended by
	// --run-for, one the test stopped by cancelling its context.
	switch {
	case len(stopping) != 1:
		t.Errorf("BridgeStopping records %v, want one", stopping)
	case stopping[0]["reason"] == "run-for" && runForDetail.MatchString(fmt.Sprint(stopping[0]["detail"])):
	case stopping[0]["reason"] == "stopped" && stopping[0]["detail"] == "context canceled":
	default:
		t.Errorf("BridgeStopping %v, want reason run-for (detail --run-for <duration> elapsed) or stopped (context canceled)", stopping[0])
	}
	return names
}

// runForDetail is BridgeStopping's detail when the demo's --run-for ended it.
var runForDetail = regexp.MustCompile(`^--run-for [0-9.hms]+ elapsed$`)

// checkDialPlanLines: every event of the dial-plan lines is on a subject
// that names the exact number (escaped reversibly: + kept, \ * # as ~XX),
// has the exact number in ce-subject (address events) and in the data,
// and the scripted calls reached both lines of each pair.
func checkDialPlanLines(t *testing.T, events []storedEvent, dns []string) {
	t.Helper()
	escaped := map[string]string{"+4930123": "+4930123", `\+4930`: "~5C+4930", "*55": "~2A55", "#1": "~231"}
	for _, dn := range dns {
		var addr, call []string
		for _, e := range events {
			if e.ce.Subject() == dn && strings.HasPrefix(e.subject, "cti.lab.address.") {
				if want := "cti.lab.address." + escaped[dn] + "." + e.data["event"].(string); e.subject != want {
					t.Fatalf("%s: address event on %q, want %q", dn, e.subject, want)
				}
				a, _ := e.data["address"].(map[string]any)
				if a == nil || a["dn"] != dn {
					t.Fatalf("%s: address event data %v", dn, e.data["address"])
				}
				addr = append(addr, e.data["event"].(string))
				continue
			}
			c, _ := e.data["call"].(map[string]any)
			if c == nil {
				continue
			}
			if conn, _ := c["connection"].(map[string]any); conn != nil && conn["address"] == dn {
				if e.ce.Subject() != c["callId"] || e.subject != "cti.lab.call."+c["callId"].(string)+"."+e.data["event"].(string) {
					t.Fatalf("%s: call event on %q with ce-subject %q", dn, e.subject, e.ce.Subject())
				}
				call = append(call, e.data["event"].(string))
			}
		}
		if !slices.Contains(addr, "CiscoAddrInServiceEv") || !slices.Contains(addr, "CiscoAddrOutOfServiceEv") {
			t.Errorf("%s: address events %v, want it in and out of service with the failover", dn, addr)
		}
		if !slices.Contains(call, "ConnCreatedEv") || !slices.Contains(call, "CallCtlConnEstablishedEv") && !slices.Contains(call, "CallCtlConnAlertingEv") {
			t.Errorf("%s: call events %v, want the scripted call's connection", dn, call)
		}
		t.Logf("%s: %d address and %d call events", dn, len(addr), len(call))
	}
}

// checkFailoverOrder asserts PRODUCT.md §3.3 rule 3 on the stream order.
func checkFailoverOrder(t *testing.T, names []string) {
	t.Helper()
	first := func(name string, from int) int {
		for i := from; i < len(names); i++ {
			if names[i] == name {
				return i
			}
		}
		return -1
	}
	lost := first("CTIManagerLost", 0)
	if lost < 0 {
		t.Fatal("no CTIManagerLost: the failover is not in the stream")
	}
	provOOS := first("ProvOutOfServiceEv", lost)
	provIS := first("ProvInServiceEv", provOOS)
	gapOpened := first("GapOpened", lost)
	gapClosed := first("GapClosed", provIS)
	if provOOS < 0 || provIS < 0 || gapOpened < 0 || gapClosed < 0 {
		t.Fatalf("missing step: ProvOutOfServiceEv %d ProvInServiceEv %d GapOpened %d GapClosed %d", provOOS, provIS, gapOpened, gapClosed)
	}
	count := func(name string, from, to int) (n, firstAt, lastAt int) {
		firstAt, lastAt = -1, -1
		for i := from; i < to; i++ {
			if names[i] == name {
				n++
				if firstAt < 0 {
					firstAt = i
				}
				lastAt = i
			}
		}
		return
	}
	obsEnded, _, lastObs := count("CallObservationEndedEv", lost, provOOS)
	addrOOS, firstAddrOOS, _ := count("CiscoAddrOutOfServiceEv", lost, provOOS)
	termOOS, _, _ := count("CiscoTermOutOfServiceEv", lost, provOOS)
	addrIS, _, _ := count("CiscoAddrInServiceEv", provIS, gapClosed)
	termIS, _, _ := count("CiscoTermInServiceEv", provIS, gapClosed)
	t.Logf("failover: %d calls observation ended, %d/%d addr/term OOS, %d/%d addr/term in service", obsEnded, addrOOS, termOOS, addrIS, termIS)
	if obsEnded > 0 && lastObs > firstAddrOOS {
		t.Errorf("CallObservationEndedEv after the out-of-service wave began")
	}
	// The default cluster, every device and line observed.
	devs, lines := 0, 0
	for _, d := range ctisim.DefaultCluster().Devices {
		devs++
		lines += len(d.Lines)
	}
	if addrOOS != lines || termOOS != devs {
		t.Errorf("out-of-service wave: %d addresses, %d terminals; want %d and %d", addrOOS, termOOS, lines, devs)
	}
	if addrIS != lines || termIS != devs {
		t.Errorf("in-service wave: %d addresses, %d terminals; want %d and %d", addrIS, termIS, lines, devs)
	}
	for i := lost; i < provOOS; i++ {
		switch names[i] {
		case "CallObservationEndedEv", "CiscoAddrOutOfServiceEv", "CiscoTermOutOfServiceEv", "CTIManagerLost":
		default:
			t.Errorf("unexpected %s between CTIManagerLost and ProvOutOfServiceEv", names[i])
		}
	}
}
