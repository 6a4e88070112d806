package ctisim

import (
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// DefaultSessionQueue is the per-session outbound queue bound used when
// Config.SessionQueue is zero.
const DefaultSessionQueue = 100_000

// outFrame is one message waiting to be written to a session.
type outFrame struct {
	msg ctilink.Message
	// at is when it was queued; a slow link delays it until at+delay.
	at time.Time
	// closeAfter closes the connection once the frame is written (a
	// graceful ProviderClosed).
	closeAfter bool
}

// queue is a bounded FIFO of outbound frames. Pushing never blocks: a full
// queue refuses the frame, and the caller closes the session, so one slow
// client never stalls the traffic driver or the other sessions.
type queue struct {
	mu    sync.Mutex // guards items, head and inflight
	items []outFrame
	head  int
	// inflight counts frames the writer took but has not finished with;
	// they count against limit.
	inflight int
	limit    int

	// notify has capacity one; a push makes it ready.
	notify chan struct{}
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, notify: make(chan struct{}, 1)}
}

// push appends f; it reports false when the queue is full.
func (q *queue) push(f outFrame) bool {
	q.mu.Lock()
	if len(q.items)-q.head+q.inflight >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return true
}

// popBatch moves up to max frames into dst and returns it. The frames
// still count against the bound until release.
func (q *queue) popBatch(dst []outFrame, max int) []outFrame {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items)-q.head, max)
	q.inflight += n
	dst = append(dst, q.items[q.head:q.head+n]...)
	for i := q.head; i < q.head+n; i++ {
		q.items[i] = outFrame{}
	}
	q.head += n
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 4096 && q.head*2 > len(q.items) {
		// Compact so a long-lived backlog does not pin memory.
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	return dst
}

// release tells the queue the writer is done with n popped frames.
func (q *queue) release(n int) {
	q.mu.Lock()
	q.inflight -= n
	q.mu.Unlock()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head + q.inflight
}
