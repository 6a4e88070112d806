package main

import (
	"context"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
)

func BenchmarkDbg(b *testing.B) {
	l := bigFixture(b)
	ctx := context.Background()
	nc, _ := nats.Connect(l.url)
	st, _ := replaystore.NewFromConn(ctx, nc, replaystore.Config{})
	for _, q := range []replaystore.Query{
		{},
		{Batch: 5000},
		{Subjects: []string{"cti.lab.>"}},
		{Subjects: []string{replaystore.FamilySubjects("lab", schema.FamilyProvider), replaystore.FamilySubjects("lab", schema.FamilyBridge)}},
		{Subjects: []string{replaystore.FamilySubjects("lab", schema.FamilyProvider)}},
		{Subjects: []string{replaystore.FamilySubjects("lab", schema.FamilyTerminal), replaystore.FamilySubjects("lab", schema.FamilyAddress), replaystore.FamilySubjects("lab", schema.FamilyCall)}, StartSeq: 20000, EndSeq: 40000},
		{Subjects: []string{"cti.lab.>"}, StartSeq: 20000, EndSeq: 40000},
		{StartSeq: 20000, EndSeq: 40000},
	} {
		t0 := time.Now()
		n := 0
		st.Read(ctx, q, func(m replaystore.Message) error { n++; return nil })
		b.Logf("%+v: %d msgs in %s", q, n, time.Since(t0))
	}
}
