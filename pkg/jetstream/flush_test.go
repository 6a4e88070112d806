package jetstream

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// FlushProgressing waits for a stream that takes messages and gives up on
// one that takes none: a publisher held back (its Permit withheld, as a
// high-availability bridge past its lease deadline is) acknowledges
// nothing, and the flush reports the stall with what is still buffered;
// permitted again, the same buffer drains and the flush returns nil.
func TestFlushProgressing(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	var permit atomic.Bool
	p := startPublisher(t, nc, func(c *Config) { c.Permit = permit.Load })
	const n = 50
	publishN(t, p, newMsgGen("s1", 5, 100), n)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := p.FlushProgressing(ctx, 300*time.Millisecond)
	if !errors.Is(err, ErrFlushStalled) || ctx.Err() != nil {
		t.Fatalf("FlushProgressing with nothing permitted: %v, want ErrFlushStalled before the test's deadline", err)
	}
	if st := p.Stats(); st.Buffered != n || st.Acked != 0 {
		t.Fatalf("after the stall: %d buffered, %d acked; want %d, 0", st.Buffered, st.Acked, n)
	}

	permit.Store(true)
	p.Wake()
	if err := p.FlushProgressing(ctx, 5*time.Second); err != nil {
		t.Fatalf("FlushProgressing once permitted: %v", err)
	}
	if got := len(readStream(t, js)); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}
