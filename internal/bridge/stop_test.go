package bridge

import (
	"context"
	"errors"
	"testing"
)

// BridgeStopping's reason is the StopCause the context was cancelled with;
// a plain cancel says "stopped", and a StopCause is a context.Canceled.
func TestStopReason(t *testing.T) {
	for _, tc := range []struct {
		cancel func(context.CancelCauseFunc)
		want   StopCause
	}{
		{func(c context.CancelCauseFunc) { c(StopCause{Reason: StopSignal, Detail: "SIGTERM"}) }, StopCause{StopSignal, "SIGTERM"}},
		{func(c context.CancelCauseFunc) { c(StopCause{Reason: StopRunFor, Detail: "--run-for 5s elapsed"}) }, StopCause{StopRunFor, "--run-for 5s elapsed"}},
		{func(c context.CancelCauseFunc) { c(nil) }, StopCause{StopRequested, "context canceled"}},
		{func(c context.CancelCauseFunc) { c(errors.New("shutting down the host")) }, StopCause{StopRequested, "shutting down the host"}},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		tc.cancel(cancel)
		if got := stopReason(ctx); got != tc.want {
			t.Errorf("stopReason = %+v, want %+v", got, tc.want)
		}
	}
	if !errors.Is(StopCause{Reason: StopSignal}, context.Canceled) {
		t.Error("a StopCause is not a context.Canceled")
	}
}
