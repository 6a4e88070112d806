package jetstream

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// The unknown outcomes a NATS cluster produces during elections and
// restarts, as nats.go hands them to the async error handler.
func TestClassifyPublishError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want PublishErrorKind
	}{
		{natsjs.ErrAsyncPublishTimeout, ErrKindTimeout},
		{natsjs.ErrNoStreamResponse, ErrKindNoResponders},
		{nats.ErrNoResponders, ErrKindNoResponders},
		{nats.ErrDisconnected, ErrKindDisconnected},
		{nats.ErrReconnectBufExceeded, ErrKindDisconnected},
		{&natsjs.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, ErrKindUnavailable},
		{&natsjs.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}, ErrKindInProcess},
		{fmt.Errorf("wrapped: %w", &natsjs.APIError{Code: 409, ErrorCode: 10158}), ErrKindInProcess},
		{&natsjs.APIError{Code: 500, ErrorCode: 10077, Description: "insufficient resources"}, ErrKindOther},
		{errors.New("something else"), ErrKindOther},
	} {
		if got := classifyPublishError(tc.err); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
		if permanent(tc.err) {
			t.Errorf("%v is permanent: a transient cluster error must be resent", tc.err)
		}
	}
	var e PublishErrors
	e[ErrKindInProcess] = 2
	if m := e.Map(); len(m) != 1 || m["in_process"] != 2 {
		t.Fatalf("Map: %v", m)
	}
}
