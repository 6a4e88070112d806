package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// The exit codes of docs/operations.md: 0 success, 1 failure, 2 usage.
func TestExitCodes(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/readyz"
	ln.Close()

	// A data directory another bridge holds.
	busy := t.TempDir()
	lock, err := jetstream.LockStore(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"healthcheck", ok.URL}, 0, ""},
		{[]string{"healthcheck"}, 2, "accepts 1 arg"},
		{[]string{"healthcheck", "a", "b"}, 2, "accepts 1 arg"},
		{[]string{"healthcheck", "127.0.0.1:8080/readyz"}, 2, "http:// or https://"},
		{[]string{"healthcheck", unready.URL}, 1, "503"},
		{[]string{"healthcheck", closed}, 1, "connection refused"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"version", "extra"}, 2, "unknown command"},
		{[]string{"demo", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"demo", "--data-dir", busy, "--nats-listen", "127.0.0.1:0", "--log-level", "error"}, 1, "data directory in use"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
			t.Errorf("bridge %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut.String(), tc.code, tc.stderr)
		}
	}
}
