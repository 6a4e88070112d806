package faultmatrix

import (
	"context"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Migration (docs/jetstream.md "Drift"): a bridge started on a stream an
// older bridge wrote in subject layout 1 never writes into it. Its event
// log stays not ready, /readyz giving the instructions of the layout
// error, while events wait in the buffer; once the operator follows them
// (here: the old events discarded, `nats stream rm CTI`) the bridge
// provisions the stream in layout 2 and publishes.
func TestBridgeOnLayout1Stream(t *testing.T) {
	r := StartTestRig(t, RigConfig{})
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := js.DeleteStream(ctx, jetstream.DefaultStream); err != nil {
		t.Fatal(err)
	}
	old := natsjs.StreamConfig{Name: jetstream.DefaultStream, Subjects: []string{schema.SubjectRoot + ".>"}, Storage: natsjs.FileStorage,
		Duplicates: jetstream.DefaultDuplicates, AllowDirect: true}
	// Right after a delete the server may still be removing the
	// account's stream directories (a create then fails with 10049, "could
	// not create storage directory"): try again until it is done.
	var createErr error
	if !testwait.Poll(WaitBound, func() bool {
		_, createErr = js.CreateStream(ctx, old)
		return createErr == nil
	}) {
		t.Fatal(createErr)
	}
	for _, subj := range []string{"cti.lab.call.42.CallActiveEv", "cti.lab.call.42.ConnCreatedEv", "cti.lab.provider.ProvInServiceEv"} {
		if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}

	b, err := r.StartBridge(nil)
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	testwait.Eventually(t, WaitBound, "/readyz to give the subject-layout error", func() bool {
		for _, rs := range b.Readiness().Reasons {
			if strings.Contains(rs, "subject layout 1") {
				reason = rs
				return true
			}
		}
		return false
	})
	for _, want := range []string{"holds 3 events", "CTI_V2", "replay --stream CTI", "nats stream rm CTI"} {
		if !strings.Contains(reason, want) {
			t.Errorf("%q not in the /readyz reason %q", want, reason)
		}
	}
	WaitUp(t, r, nil) // the provider is in service meanwhile: its events are buffered
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 || info.Config.SubjectTransform != nil || info.Config.Metadata[schema.LayoutMetadataKey] != "" {
		t.Fatalf("the layout-1 stream was written to or changed: %d messages, transform %v, metadata %v",
			info.State.Msgs, info.Config.SubjectTransform, info.Config.Metadata)
	}

	if err := js.DeleteStream(ctx, jetstream.DefaultStream); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, time.Minute, "the event log to become ready on a new stream", func() bool {
		return b.Readiness().Ready
	})
	testwait.Eventually(t, WaitBound, "the buffered events in the new stream", func() bool {
		s, err := js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs > 100 && info.Config.Metadata[schema.LayoutMetadataKey] == schema.CurrentLayout.String()
	})
	if err := r.StopBridge(); err != nil {
		t.Fatal(err)
	}
}
