package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// subjectOption is one candidate subject layout of the ADR "Subject
// layout" (docs/jetstream.md): how a call event is stored, and the stream
// filter of one call's history under it.
type subjectOption struct {
	name string
	// stored is the call event's stored subject, given the current
	// published one's parts.
	stored     func(cluster, id, line, name string) string
	callFilter func(id string) string
}

var subjectOptions = []subjectOption{
	{"call.<callid>.<event> (layout 1)",
		func(c, id, _, n string) string { return "cti." + c + ".call." + id + "." + n },
		func(id string) string { return "cti." + benchCluster + ".call." + id + ".>" }},
	{"call.<callid> (layout 2)",
		func(c, id, _, _ string) string { return "cti." + c + ".call." + id },
		func(id string) string { return "cti." + benchCluster + ".call." + id }},
	{"call.<callid>.<line>",
		func(c, id, line, _ string) string { return "cti." + c + ".call." + id + "." + line },
		func(id string) string { return "cti." + benchCluster + ".call." + id + ".>" }},
	{"call.<line>.<callid>",
		func(c, id, line, _ string) string { return "cti." + c + ".call." + line + "." + id },
		func(id string) string { return "cti." + benchCluster + ".call.*." + id }},
}

// BenchmarkSubjectLayouts measures, for each candidate layout, what the
// NATS server holds in memory for its subjects and how fast one call's
// history is read by a server-side filter: the template's calls (the
// contact-centre mix, recordTemplate) repeated -layouts.reps times are
// stored raw on a fresh embedded server in each layout; after a restart
// the server's subject-index memory is taken from the Go heap profile
// (allocations of the subject tree, server/stree, made while the store is
// recovered), and an ordered consumer reads 20 calls' histories.
//
//	go test -run '^$' -bench 'SubjectLayouts' -benchtime 1x ./internal/bench
func BenchmarkSubjectLayouts(b *testing.B) {
	b.StopTimer()
	tpl := recordTemplate(b, 2000, 3000, 200, 11)
	dir := b.TempDir()
	var rows []string
	for i, o := range subjectOptions {
		s := startScaleServer(b, filepath.Join(dir, fmt.Sprint(i)))
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		if err := layoutV1.provision(ctx, s.js); err != nil { // no transform: subjects stored as published here
			b.Fatal(err)
		}
		js, err := natsjs.New(s.nc, natsjs.WithPublishAsyncMaxPending(jetstream.DefaultMaxInFlight))
		if err != nil {
			b.Fatal(err)
		}
		enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
		if err != nil {
			b.Fatal(err)
		}
		log := newCallLog(tpl)
		n := len(tpl.head) + 2*len(tpl.calls)
		var ids []string
		for range n {
			ev := log.next()
			m, err := enc.Encode(&ev, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if ev.Family == schema.FamilyCall {
				m.Subject = o.stored(benchCluster, schema.EscapeToken(ev.Entity), schema.EscapeToken(schema.CallLine(&ev)), ev.Name)
				if len(ids) == 0 || ids[len(ids)-1] != ev.Entity {
					ids = append(ids, ev.Entity)
				}
			}
			for {
				_, err := js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data})
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "stalled") {
					b.Fatal(err)
				}
			}
		}
		<-js.PublishAsyncComplete()
		st, err := s.js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			b.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		index := s.restartIndexBytes(b)
		calls := log.calls
		// One call's history, read as replay does (an ordered consumer on
		// the call's filter, until nothing is pending), for 20 calls.
		var reads []time.Duration
		st, err = s.js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			b.Fatal(err)
		}
		for k := 0; k < 20; k++ {
			id := ids[(k*7919)%len(ids)]
			start := time.Now()
			got := readFiltered(b, ctx, st, o.callFilter(id))
			reads = append(reads, time.Since(start))
			if got == 0 {
				b.Fatalf("%s: no events for call %s", o.name, id)
			}
		}
		slices.Sort(reads)
		cancel()
		s.stop(b)
		rows = append(rows, fmt.Sprintf("| `%s` | %.2f | %.0f B | %.0f B | %.1f ms |", o.name,
			float64(info.State.NumSubjects)/float64(calls), float64(index)/float64(info.State.NumSubjects),
			float64(index)/float64(calls), millis(reads[len(reads)/2])))
		b.ReportMetric(float64(index)/float64(calls), fmt.Sprintf("opt%d-index-B/call", i))
	}
	fmt.Printf("\n| stored call subject | subjects per call | index per subject | index per call | one call's history (median of 20) |\n|---|---|---|---|---|\n%s\n",
		strings.Join(rows, "\n"))
}

// readFiltered reads every message matching filter with an ordered
// consumer and returns how many there were.
func readFiltered(tb testing.TB, ctx context.Context, st natsjs.Stream, filter string) int {
	tb.Helper()
	cons, err := st.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		tb.Fatal(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	n := int(ci.NumPending)
	for got := 0; got < n; {
		batch, err := cons.Fetch(n-got, natsjs.FetchMaxWait(5*time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		for range batch.Messages() {
			got++
		}
		if batch.Error() != nil {
			tb.Fatal(batch.Error())
		}
	}
	return n
}

// restartIndexBytes restarts the server on its store (as restartHeap) and
// returns the bytes its subject index holds: the heap profile's in-use
// allocations made in the subject tree (server/stree) while the store
// was recovered, sampled at every byte.
func (s *scaleServer) restartIndexBytes(tb testing.TB) int64 {
	tb.Helper()
	rate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = rate }()
	s.restartHeap(tb)
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+1024)
	}
	var total int64
	for i := range recs {
		if fromSubjectIndex(recs[i].Stack()) {
			total += recs[i].InUseBytes()
		}
	}
	return total
}

// fromSubjectIndex reports whether an allocation was made by the subject
// tree while a stream's store was being recovered.
func fromSubjectIndex(stack []uintptr) bool {
	tree, recover := false, false
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		switch {
		case strings.Contains(f.Function, "nats-server/v2/server/stree."):
			tree = true
		case strings.Contains(f.Function, "newFileStore"):
			recover = true
		}
		if !more {
			return tree && recover
		}
	}
}
