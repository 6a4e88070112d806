package replaystore_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// writeStore writes evs into a fresh store in dir and shuts the server
// down cleanly.
func writeStore(t *testing.T, dir string, evs []schema.Event) {
	t.Helper()
	srv, nc := storetest.StartServer(t, dir)
	js := storetest.CreateEventStream(t, nc, "CTI")
	storetest.Publish(t, js, "lab", evs)
	nc.Close()
	srv.Shutdown()
	srv.WaitForShutdown()
}

// A store two servers wrote at once (two demos on one data directory,
// before the lock) has an index that disagrees with its message blocks:
// its subject counts promise messages the blocks do not hold, and a
// reader that trusted them waited for good. Offline, replay rebuilds the
// index from the blocks, so every read ends, on what the blocks hold.
// testdata/two-writers-store.tgz is the store of the finding: two `bridge
// demo` runs on one data directory at once (before the lock), the second
// started two seconds after the first. Its index promised provider events
// the blocks do not hold, and `replay timeline` waited for them for good.
// Offline, the index is rebuilt from the blocks: every read ends, and the
// filtered reads agree with the unfiltered one.
func TestOfflineStoreWrittenByTwoServersIsReadToAConsistentPoint(t *testing.T) {
	dir := t.TempDir()
	untar(t, filepath.Join("testdata", "two-writers-store.tgz"), dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := replaystore.Open(ctx, replaystore.Config{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	perFamily := map[schema.Family]int{}
	if _, err := st.ReadEvents(ctx, replaystore.Query{}, func(r replaystore.Record) error {
		perFamily[r.Event.Family]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if perFamily[schema.FamilyProvider] == 0 {
		t.Fatalf("no provider event read: %v", perFamily)
	}
	for _, f := range schema.Families {
		rs, err := st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.FamilySubjects("lab", f)}}, func(replaystore.Record) error { return nil })
		if err != nil {
			t.Fatalf("%s events: %v after %d", f, err, rs.Messages)
		}
		if int(rs.Messages) != perFamily[f] {
			t.Errorf("%s events: the filtered read gave %d, the whole log holds %d", f, rs.Messages, perFamily[f])
		}
	}
}

func untar(t *testing.T, archive, dst string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestOfflineStoreWithForeignIndexIsReadToTheEnd(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	small := storetest.SyntheticLog(storetest.LogConfig{Events: 300})
	large := storetest.SyntheticLog(storetest.LogConfig{Events: 3000, Failovers: []int{1500}})
	writeStore(t, a, small)
	writeStore(t, b, large)
	// Blocks of the small run, index of the large one.
	var index []string
	err := filepath.WalkDir(filepath.Join(b, "jetstream"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "index.db" {
			index = append(index, p)
		}
		return err
	})
	if err != nil || len(index) == 0 {
		t.Fatalf("no index.db in the second store: %v", err)
	}
	for _, p := range index {
		rel, _ := filepath.Rel(b, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(a, rel), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The bound only reports a hang as a failure instead of blocking the
	// suite; a correct read takes well under a second.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := replaystore.Open(ctx, replaystore.Config{StoreDir: a})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, f := range []schema.Family{schema.FamilyProvider, schema.FamilyCall, schema.FamilyBridge} {
		var want int
		for _, ev := range small {
			if ev.Family == f {
				want++
			}
		}
		rs, err := st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.FamilySubjects("lab", f)}}, func(replaystore.Record) error { return nil })
		if err != nil {
			t.Fatalf("%s events: %v after %d", f, err, rs.Messages)
		}
		if int(rs.Messages) != want {
			t.Errorf("%s events: read %d, the blocks hold %d", f, rs.Messages, want)
		}
	}
}
