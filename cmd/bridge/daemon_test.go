package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/internal/tlse2e"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// logField returns the value of field in the first log line whose message
// is msg ("" until there is one).
func logField(logs *tlse2e.Logs, msg, field string) string {
	for _, l := range logs.Lines() {
		if l["message"] == msg {
			s, _ := l[field].(string)
			return s
		}
	}
	return ""
}

// `bridge run` with the embedded NATS server and nats.user/nats.password:
// a client without the credentials (or with a wrong password) is refused,
// the bridge publishes (its own connection presents them), and `replay`
// reads the stream with them and not without. The run also shows the
// configured CloudEvents source on the events and a log of single JSON
// lines: no duplicate keys, no banner.
func TestRunEmbeddedNATSEnforcesCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon and builds replay")
	}
	replayBin := buildReplay(t)
	cluster := ctisim.DefaultCluster().WithEphemeralPorts().WithHeartbeat(ctisim.HeartbeatConfig{Min: time.Second, Max: time.Second, Default: time.Second})
	sim, err := ctisim.New(ctisim.Config{Cluster: cluster, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	dir := t.TempDir()
	var doc strings.Builder
	fmt.Fprintf(&doc, "cluster: lab\nsource: //cucm.example.com/lab\ninstance: auth\ncti:\n  login: ctibridge\n  DesiredServerHeartbeatInterval: 1s\n  ctiManagers:\n")
	for _, n := range sim.Nodes() {
		fmt.Fprintf(&doc, "    - {name: %s, address: %q, leastPriority: %v}\n", n.Name, n.Addr, n.LeastPriority)
	}
	fmt.Fprintf(&doc, "nats:\n  listen: 127.0.0.1:0\n  dataDir: %q\n  user: bridge\nhttp:\n  listen: 127.0.0.1:0\nlog:\n  level: info\n  format: json\n",
		filepath.Join(dir, "data"))
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Secrets from the environment, as in a deployment.
	t.Setenv("CTIBRIDGE_CTI_PASSWORD", "secret")
	t.Setenv("CTIBRIDGE_NATS_PASSWORD", "n4ts-s3cret")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs tlse2e.Logs
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--config", path}, io.Discard, &logs) }()
	var natsURL, ops string
	testwait.Eventually(t, 30*time.Second, "the embedded server and the ops endpoints", func() bool {
		natsURL = logField(&logs, "embedded NATS server with JetStream started", "url")
		ops = logField(&logs, "ops endpoints: /healthz /readyz /metrics /status", "addr")
		return natsURL != "" && ops != ""
	})
	testwait.Eventually(t, 30*time.Second, "/readyz 200 (provider in service, publisher connected)", func() bool {
		r, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})

	for _, opts := range [][]nats.Option{nil, {nats.UserInfo("bridge", "guess")}, {nats.Token("n4ts-s3cret")}} {
		if nc, err := nats.Connect(natsURL, opts...); err == nil {
			nc.Close()
			t.Fatalf("a client without the credentials was admitted (%d options)", len(opts))
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("refused with %v, want an authorization violation", err)
		}
	}

	code, _, errOut := runReplay(t, replayBin, "--server", natsURL, "timeline")
	if code == 0 || !strings.Contains(strings.ToLower(errOut), "authorization violation") {
		t.Errorf("replay without credentials: exit %d, stderr %q; want a failure naming the authorization violation", code, errOut)
	}
	code, out, errOut := runReplay(t, replayBin, "--server", natsURL, "--user", "bridge", "--password", "n4ts-s3cret", "timeline")
	if code != 0 || !strings.Contains(out, "ProvInServiceEv") {
		t.Fatalf("replay with the credentials: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runReplay(t, replayBin, "--server", natsURL, "--user", "bridge", "--password", "n4ts-s3cret", "export")
	if code != 0 || !strings.Contains(out, `"source":"//cucm.example.com/lab"`) || strings.Contains(out, `"source":"cti://lab"`) {
		t.Errorf("events do not carry the configured source: exit %d\n%.600s%s", code, out, errOut)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("bridge run exited %d after its context ended\n%s", code, logs.String())
	}
	checkLogLines(t, logs.String())
}

// checkLogLines checks a JSON log: each line one object with no key twice,
// no line that is a fragment of a banner, and the cluster on every line
// of the bridge's parts.
func checkLogLines(t *testing.T, log string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		keys, err := objectKeys(l)
		if err != nil {
			t.Errorf("not one JSON object: %q (%v)", l, err)
			continue
		}
		seen := map[string]int{}
		for _, k := range keys {
			seen[k]++
		}
		for k, n := range seen {
			if n > 1 {
				t.Errorf("key %q %d times in %s", k, n, l)
			}
		}
		var rec map[string]any
		_ = json.Unmarshal([]byte(l), &rec)
		msg, _ := rec["message"].(string)
		if strings.TrimSpace(msg) == "" || strings.HasPrefix(msg, " ") || strings.HasPrefix(msg, "---") {
			t.Errorf("a banner or table fragment as a log line: %s", l)
		}
		switch rec["component"] {
		case "bridge", "ctiengine", "publisher", "snapshotter":
			if rec["cluster"] != "lab" {
				t.Errorf("no cluster on %s", l)
			}
		}
	}
}

// objectKeys returns the top-level keys of one JSON object, in order,
// repeats included (encoding/json keeps only the last of a repeated key).
func objectKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object (%v)", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one value on the line")
	}
	return keys, nil
}

func buildReplay(t *testing.T) string {
	t.Helper()
	bin, err := faultmatrix.BuildCommand(t.TempDir(), "replay")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func runReplay(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	}
	t.Fatalf("replay %s: %v", strings.Join(args, " "), err)
	return 0, "", ""
}
