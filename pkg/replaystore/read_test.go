package replaystore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReadFromServer(t *testing.T) {
	ctx := ctxT(t)
	srv, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 3000, Failovers: []int{1500}})
	storetest.Publish(t, js, "lab", evs)

	st, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	if cs, err := st.Clusters(ctx); err != nil || len(cs) != 1 || cs[0] != "lab" {
		t.Fatalf("clusters = %v, %v", cs, err)
	}
	// Every event, decoded, in order, equal to what was published.
	var got []schema.Event
	rs, err := st.ReadEvents(ctx, replaystore.Query{}, func(r replaystore.Record) error {
		got = append(got, r.Event)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) || rs.Messages != uint64(len(evs)) || rs.DecodeErrors != 0 || rs.FirstSeq != 1 || rs.LastSeq != 3000 {
		t.Fatalf("read %d events (%+v), want %d", len(got), rs, len(evs))
	}
	for i := range evs {
		if got[i].Name != evs[i].Name || got[i].Entity != evs[i].Entity || !got[i].Time.Equal(evs[i].Time) || got[i].SessionSeq != evs[i].SessionSeq {
			t.Fatalf("event %d: got %s/%s/%v, want %s/%s/%v", i, got[i].Name, got[i].Entity, got[i].Time, evs[i].Name, evs[i].Entity, evs[i].Time)
		}
	}
	if st.EventsRead() != 3000 {
		t.Errorf("EventsRead = %d", st.EventsRead())
	}

	// A filtered read sees only provider and bridge events.
	var names []string
	_, err = st.ReadEvents(ctx, replaystore.Query{Subjects: []string{
		schema.FamilyFilter("", schema.FamilyProvider), schema.FamilyFilter("", schema.FamilyBridge),
	}}, func(r replaystore.Record) error {
		if r.Event.Family != schema.FamilyProvider && r.Event.Family != schema.FamilyBridge {
			t.Errorf("filtered read delivered %s", r.Subject)
		}
		names = append(names, r.Event.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(names, " "), "CTIManagerLost") {
		t.Errorf("provider/bridge read misses CTIManagerLost: %v", names)
	}

	// Bounded reads: a sequence window, and a filter that matches nothing
	// returns at once instead of waiting.
	var seqs []uint64
	if _, err := st.Read(ctx, replaystore.Query{StartSeq: 10, EndSeq: 14}, func(m replaystore.Message) error {
		seqs = append(seqs, m.Seq)
		return nil
	}); err != nil || len(seqs) != 5 || seqs[0] != 10 || seqs[4] != 14 {
		t.Errorf("window read = %v, %v", seqs, err)
	}
	n := 0
	if _, err := st.Read(ctx, replaystore.Query{Subjects: []string{"cti.nowhere.>"}}, func(replaystore.Message) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("empty filter read %d, %v", n, err)
	}
	// ErrStop ends a read early without an error.
	n = 0
	if _, err := st.Read(ctx, replaystore.Query{}, func(replaystore.Message) error {
		n++
		if n == 3 {
			return replaystore.ErrStop
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("stopped read: %d, %v", n, err)
	}
}

func treeHash(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenOfflineStoreLeavesItUntouched(t *testing.T) {
	ctx := ctxT(t)
	data := t.TempDir()
	storeDir := filepath.Join(data, "nats")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 800})
	func() {
		srv, nc := storetest.StartServer(t, storeDir)
		js := storetest.CreateEventStream(t, nc, "CTI")
		storetest.Publish(t, js, "lab", evs)
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	before := treeHash(t, data)

	// The data dir given by the user holds the store one level down.
	st, err := replaystore.Open(ctx, replaystore.Config{StoreDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Offline() {
		t.Error("store not offline")
	}
	fold := callstate.New()
	rs, err := st.ReadEvents(ctx, replaystore.Query{}, func(r replaystore.Record) error {
		fold.Apply(r.Event)
		return nil
	})
	if err != nil || rs.Messages != 800 {
		t.Fatalf("offline read: %+v, %v", rs, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	want := callstate.New()
	for _, ev := range evs {
		want.Apply(ev)
	}
	a, _ := fold.MarshalJSON()
	b, _ := want.MarshalJSON()
	if string(a) != string(b) {
		t.Error("state folded from the offline store differs from the state of the events written")
	}
	after := treeHash(t, data)
	if len(after) != len(before) {
		t.Fatalf("store files changed: %d before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("store file %s modified by an offline open", k)
		}
	}
	// The jetstream directory itself is accepted too.
	st, err = replaystore.Open(ctx, replaystore.Config{StoreDir: filepath.Join(storeDir, "jetstream")})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

func TestOpenErrors(t *testing.T) {
	ctx := ctxT(t)
	if _, err := replaystore.Open(ctx, replaystore.Config{StoreDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no JetStream store") {
		t.Errorf("empty store dir: %v", err)
	}
	err := (&replaystore.Config{Server: "localhost:4222", Password: "x", TLSCert: "c", Stream: "a.b", SnapshotStream: "S"}).Validate()
	for _, want := range []string{"no scheme", "Password set without User", "TLSCert and TLSKey", "Stream \"a.b\""} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not mention %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "password x") {
		t.Error("password leaked into an error")
	}
	srv, nc := storetest.StartServer(t, t.TempDir())
	_ = nc
	if _, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL(), Stream: "NOPE"}); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("missing stream: %v", err)
	}
}

// An offline open removes the store copies left by processes that were
// killed before they could remove theirs, and its own copy on Close.
func TestOfflineCopiesAreCleanedUp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	data := t.TempDir()
	func() {
		srv, nc := storetest.StartServer(t, data)
		js := storetest.CreateEventStream(t, nc, "CTI")
		storetest.Publish(t, js, "lab", storetest.SyntheticLog(storetest.LogConfig{Events: 50}))
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no `true` command to make a finished process")
	}
	stale := filepath.Join(tmp, fmt.Sprintf("ctireplay-store-%d-123", dead.Process.Pid))
	live := filepath.Join(tmp, fmt.Sprintf("ctireplay-store-%d-456", os.Getppid()))
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(filepath.Join(d, "jetstream"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	st, err := replaystore.Open(ctxT(t), replaystore.Config{StoreDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the copy of a finished process was not removed: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the copy of a running process was removed: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fmt.Sprintf("ctireplay-store-%d-", os.Getpid())) {
			t.Errorf("own copy %s left after Close", e.Name())
		}
	}
}
