package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
)

// TestLoudMistakes is the table of docs/replay.md "Exit codes and
// messages": every mistake gets a message that says what is wrong and the
// documented exit code, never an empty answer with exit 0.
func TestLoudMistakes(t *testing.T) {
	f := newFixture(t)
	srv := []string{"--server", f.url}
	// Copied stores: one, and a directory holding two.
	one := t.TempDir()
	two := t.TempDir()
	for _, dir := range []string{filepath.Join(one, "nats"), filepath.Join(two, "a"), filepath.Join(two, "b")} {
		srvA, nc := storetest.StartServer(t, dir)
		js := storetest.CreateEventStream(t, nc, "CTI")
		storetest.Publish(t, js, "lab", f.evs[:200])
		nc.Close()
		srvA.Shutdown()
		srvA.WaitForShutdown()
	}
	notStore := t.TempDir()
	if err := os.WriteFile(filepath.Join(notStore, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := f.evs[0].Time.Add(-time.Hour).Format(time.RFC3339)

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		// Where the log is.
		{[]string{"--store", "/nonexistent/dir", "timeline"}, 2, "no such file or directory"},
		{[]string{"--store", notStore, "timeline"}, 2, "holds no JetStream store"},
		{[]string{"--store", two, "timeline"}, 2, "holds several JetStream stores"},
		{[]string{"--store", one, "--server", f.url, "timeline"}, 2, "exclude each other"},
		{[]string{"--server", "localhost:4222", "timeline"}, 2, "no scheme"},
		{[]string{"--server", "nats://127.0.0.1:1", "timeline"}, 1, "connect"},
		// What to read.
		{append(srv, "--cluster", "nope", "timeline"), 1, `no event of cluster "nope"; it holds lab`},
		{append(srv, "--cluster", "nope", "state"), 1, `no event of cluster "nope"`},
		{append(srv, "--cluster", "nope", "report", "--html", filepath.Join(t.TempDir(), "r.html")), 1, `no event of cluster "nope"`},
		{append(srv, "--cluster", "nope", "calls"), 1, `no event of cluster "nope"`},
		{append(srv, "--cluster", "nope", "export"), 1, `no event of cluster "nope"`},
		{[]string{"--store", one, "--cluster", "nope", "tail"}, 1, `no event of cluster "nope"`},
		{append(srv, "state", "--at", before), 1, "is before the log starts"},
		{append(srv, "state", "--seq", "99999"), 1, "past the end of the log: stream CTI ends at seq 3000"},
		{append(srv, "state", "--seq", "0"), 2, "sequences start at 1"},
		{append(srv, "state", "--at", "noon"), 2, "is not a time"},
		{append(srv, "state", "--at", "+1s", "--seq", "3"), 2, "not both"},
		{append(srv, "call", "424242"), 1, "no events for call 424242"},
		{append(srv, "device", "SEPNOSUCH"), 1, "no device or line"},
		{append(srv, "calls", "--since", "14:10", "--until", "14:00"), 2, "is before --since"},
		{append(srv, "export", "--format", "xml"), 2, "give jsonl or csv"},
		{append(srv, "--tz", "Mars/Olympus", "timeline"), 2, "not a time zone"},
		{append(srv, "timeline", "extra"), 2, "unexpected argument"},
		{append(srv, "nonsense"), 2, "unknown command"},
	} {
		code, out, errs := replay(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.stderr) {
			t.Errorf("replay %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.stderr)
		}
		if code != 0 && strings.TrimSpace(out) != "" && !strings.Contains(strings.Join(tc.args, " "), "call") {
			t.Errorf("replay %s failed but printed a result:\n%s", strings.Join(tc.args, " "), out)
		}
	}

	// tail on a copied store prints the last events and ends (it used to
	// wait for ever for events that can never come).
	code, out, errs := replay(t, "--store", one, "tail", "--count", "5")
	if code != 0 || strings.Count(out, "\n") != 5 || !strings.Contains(errs, "never grows") || !strings.Contains(out, "#200") {
		t.Errorf("tail on a copied store: exit %d, %q, stderr %q", code, out, errs)
	}
	code, out, _ = replay(t, "--store", one, "tail")
	if code != 0 || strings.Count(out, "\n") != defaultTailLines {
		t.Errorf("tail on a copied store without --count: exit %d, %d lines", code, strings.Count(out, "\n"))
	}
}
