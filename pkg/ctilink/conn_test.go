package ctilink_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestConnConcurrentWriters: several goroutines write through one Conn at
// once (singly and in batches). The reader sees sequences 1, 2, 3, … with
// no gap or repeat, every frame decodes (bytes of two frames never
// interleave), each writer's frames arrive in its own order, and the
// sequence Write returned is the one the frame carried. Run with -race.
func TestConnConcurrentWriters(t *testing.T) {
	const writers, perWriter, batch = 8, 300, 3
	client, server := tcpPair(t)

	type key struct{ w, i int }
	sent := make([]map[key]uint32, writers) // per writer: message → returned sequence
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		sent[w] = map[key]uint32{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := func(i int) ctilink.Message {
				return ctilink.CallStateEvent{Device: fmt.Sprintf("W%d", w), Line: "1", CallHandle: uint32(i + 1),
					GlobalCallID: uint32(w + 1), State: ctilink.CallStateConnected, TimeNs: int64(i)}
			}
			for i := 0; i < perWriter; {
				if w%2 == 0 && i+batch <= perWriter { // even writers batch
					seq, err := client.WriteBatch(msg(i), msg(i+1), msg(i+2))
					if err != nil {
						errs <- err
						return
					}
					sent[w][key{w, i + 2}] = seq
					i += batch
					continue
				}
				seq, err := client.Write(msg(i))
				if err != nil {
					errs <- err
					return
				}
				sent[w][key{w, i}] = seq
				i++
			}
		}()
	}

	got := map[key]uint32{}
	next := make([]int, writers)
	for n := 1; n <= writers*perWriter; n++ {
		h, m, err := server.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if h.Sequence != uint32(n) {
			t.Fatalf("frame %d carries sequence %d", n, h.Sequence)
		}
		ev, ok := m.(ctilink.CallStateEvent)
		if !ok {
			t.Fatalf("frame %d is %T", n, m)
		}
		var w int
		if _, err := fmt.Sscanf(ev.Device, "W%d", &w); err != nil || w < 0 || w >= writers {
			t.Fatalf("frame %d from unknown writer %q", n, ev.Device)
		}
		i := int(ev.CallHandle) - 1
		if i != next[w] {
			t.Fatalf("writer %d: message %d arrived, expected %d (reordered)", w, i, next[w])
		}
		next[w]++
		got[key{w, i}] = h.Sequence
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	for w := range writers {
		for k, seq := range sent[w] {
			if got[k] != seq {
				t.Errorf("writer %d message %d: Write returned %d, frame carried %d", k.w, k.i, seq, got[k])
			}
		}
	}
}
