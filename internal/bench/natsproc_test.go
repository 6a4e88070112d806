package bench

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// natsProcEnv, when set in the environment (to a store directory), makes
// the test binary a NATS server process instead of running tests (see
// startNATSProcess).
const natsProcEnv = "CTIBENCH_NATS_SERVER"

// latencyNATS chooses where the latency benchmarks' NATS server runs:
// "embedded" (in the bridge's process, as `bridge demo` and the embedded
// mode run it) or "process" (a process of its own on a loopback TCP port,
// as a deployment runs it: the bridge's heap and garbage collector then
// carry neither the server's work nor its S2 compression).
var latencyNATS = flag.String("latency.nats", "embedded", "BenchmarkLatency10k*: embedded (in the bridge's process) or process (a NATS server process of its own, over loopback TCP)")

// natsProcReady is the line a NATS server process prints once it serves.
type natsProcReady struct {
	URL   string `json:"url,omitempty"`
	Error string `json:"error,omitempty"`
}

// runNATSProcess serves an embedded nats-server (JetStream, file storage
// in dir, loopback TCP) until its standard input closes.
func runNATSProcess(dir string) int {
	out := json.NewEncoder(os.Stdout)
	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: dir, Listen: "127.0.0.1:0", ServerName: "bench-nats"})
	if err == nil {
		err = emb.Start()
	}
	if err != nil {
		_ = out.Encode(natsProcReady{Error: err.Error()})
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = emb.Shutdown(ctx)
	}()
	if err := out.Encode(natsProcReady{URL: emb.ClientURL()}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startNATSProcess is startNATSLayout with the server in a child process
// (the test binary started again with natsProcEnv set) and the client on
// loopback TCP.
func startNATSProcess(tb testing.TB, l storeLayout) *natsEnv {
	tb.Helper()
	var ready natsProcReady
	startChild(tb, "NATS server process", natsProcEnv, tb.TempDir(), &ready)
	if ready.Error != "" {
		tb.Fatalf("NATS server process: %s", ready.Error)
	}
	nc, err := nats.Connect(ready.URL, nats.Name("bench"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return provisionedEnv(tb, nc, l)
}

// startLatencyNATS starts the latency benchmarks' server as -latency.nats
// says.
func startLatencyNATS(tb testing.TB, l storeLayout) *natsEnv {
	tb.Helper()
	switch *latencyNATS {
	case "embedded":
		return startNATSLayout(tb, l)
	case "process":
		return startNATSProcess(tb, l)
	}
	tb.Fatalf("-latency.nats %q: want embedded or process", *latencyNATS)
	return nil
}
