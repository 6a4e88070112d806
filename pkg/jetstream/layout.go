package jetstream

import (
	"errors"
	"fmt"
	"strings"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// ErrLayout is matched (errors.Is) by a *LayoutError.
var ErrLayout = errors.New("jetstream: the stream holds events in another subject layout")

// LayoutError is what Provision returns for an existing, non-empty event
// stream written in another subject layout than the one this code
// publishes (schema.CurrentLayout). The two layouts are never mixed in one
// stream: the stream is left as it is and the bridge must not publish into
// it. Its message says what to do.
type LayoutError struct {
	Stream   string
	Have     schema.Layout
	Want     schema.Layout
	Messages uint64
	Subjects uint64
	// Unknown is the metadata value when it names no known layout.
	Unknown string
}

func (e *LayoutError) Error() string {
	var b strings.Builder
	if e.Unknown != "" {
		fmt.Fprintf(&b, "jetstream: stream %s is marked with subject layout %q (metadata %s), which this version does not know; it writes layout %s. Use a newer ctibridge, or another stream (nats.stream)",
			e.Stream, e.Unknown, schema.LayoutMetadataKey, e.Want)
		return b.String()
	}
	next := e.Stream + "_V" + e.Want.String()
	fmt.Fprintf(&b, "jetstream: stream %s holds %d events in subject layout %s (%s, %d distinct subjects); this bridge writes layout %s (one subject per call, see docs/jetstream.md \"Subject layout\") and never mixes the two in one stream. Do one of:\n",
		e.Stream, e.Messages, e.Have, layoutShape(e.Have), e.Subjects, e.Want)
	fmt.Fprintf(&b, "  1. keep the old events where they are: set nats.stream in the bridge's configuration (or CTIBRIDGE_NATS_STREAM) to a new stream, e.g. %s, and start the bridge (it creates %s in layout %s); read the old events with `replay --stream %s ...` (and new ones with `replay --stream %s ...`) until they are older than you need (MaxAge removes them in time), then delete the old stream with `nats stream rm %s`;\n", next, next, e.Want, e.Stream, next, e.Stream)
	fmt.Fprintf(&b, "  2. or discard them: `nats stream rm %s` (and `nats stream rm CTI_SNAPSHOTS`, whose snapshots point into it), and start the bridge: it creates %s in layout %s.\n", e.Stream, e.Stream, e.Want)
	b.WriteString("Events are not copied between layouts: a copy would get new stored times and sequences, so `replay state --at` and the snapshots would no longer match it.")
	return b.String()
}

// Is makes errors.Is(err, ErrLayout) hold.
func (e *LayoutError) Is(target error) bool { return target == ErrLayout }

// layoutShape describes a layout's call subjects.
func layoutShape(l schema.Layout) string {
	if l == schema.LayoutV1 {
		return "cti.<cluster>.call.<callid>.<event>, about 22 subjects per call"
	}
	return "cti.<cluster>.call.<callid>, one subject per call"
}

// StreamLayout returns the subject layout of an event stream, from its
// metadata (schema.LayoutMetadataKey; a stream without it predates the
// metadata and is schema.LayoutV1).
func StreamLayout(info *natsjs.StreamInfo) (schema.Layout, error) {
	return schema.ParseLayout(info.Config.Metadata[schema.LayoutMetadataKey])
}

// checkLayout refuses an existing stream whose events are in another
// layout. An empty stream may be converted (Provision's drift update sets
// the transform and the metadata): there is nothing to mix.
func checkLayout(info *natsjs.StreamInfo, cfg *ProvisionConfig) error {
	have, err := StreamLayout(info)
	if err != nil {
		return &LayoutError{Stream: cfg.Stream, Want: schema.CurrentLayout, Unknown: info.Config.Metadata[schema.LayoutMetadataKey]}
	}
	if have == schema.CurrentLayout || info.State.Msgs == 0 {
		return nil
	}
	return &LayoutError{Stream: cfg.Stream, Have: have, Want: schema.CurrentLayout, Messages: info.State.Msgs, Subjects: info.State.NumSubjects}
}
