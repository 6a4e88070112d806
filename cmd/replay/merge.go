package main

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
)

// readMerged reads several subject filters and calls fn with their
// records in stream order. The small filters are read first and kept (they
// must select few events: the provider's, one device's); the large one is
// streamed (it may be all the calls of a long log). A record that two
// filters select is delivered once. fn may return replaystore.ErrStop.
func readMerged(ctx context.Context, st *replaystore.Store, small []string, large string, q replaystore.Query, fn func(replaystore.Record) error) error {
	var kept []replaystore.Record
	for _, f := range small {
		sq := q
		sq.Subjects = []string{f}
		if _, err := st.ReadEvents(ctx, sq, func(r replaystore.Record) error {
			kept = append(kept, r)
			return nil
		}); err != nil {
			return err
		}
	}
	slices.SortFunc(kept, func(a, b replaystore.Record) int { return cmp.Compare(a.Seq, b.Seq) })
	kept = slices.CompactFunc(kept, func(a, b replaystore.Record) bool { return a.Seq == b.Seq })
	stopped := false
	deliver := func(r replaystore.Record) error {
		err := fn(r)
		if errors.Is(err, replaystore.ErrStop) {
			stopped = true
		}
		return err
	}
	i := 0
	flush := func(below uint64) error {
		for ; i < len(kept) && kept[i].Seq < below; i++ {
			if err := deliver(kept[i]); err != nil {
				return err
			}
		}
		return nil
	}
	q.Subjects = []string{large}
	if _, err := st.ReadEvents(ctx, q, func(r replaystore.Record) error {
		if err := flush(r.Seq); err != nil {
			return err
		}
		if i < len(kept) && kept[i].Seq == r.Seq {
			i++
		}
		return deliver(r)
	}); err != nil || stopped {
		return err
	}
	if err := flush(^uint64(0)); err != nil && !errors.Is(err, replaystore.ErrStop) {
		return err
	}
	return nil
}
