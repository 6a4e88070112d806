package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// simProcEnv, when set in the environment, makes the test binary a
// simulator process instead of running tests (see startSimProcess).
const simProcEnv = "CTIBENCH_SIMULATOR"

// simProcSpec is the part of a simSpec a simulator process takes (wall
// clock only: Advance has no control endpoint).
type simProcSpec struct {
	Phones    int           `json:"phones"`
	Heartbeat time.Duration `json:"heartbeat"`
	Rate      float64       `json:"rate"`
	Seed      int64         `json:"seed"`
}

// simProcReady is the line a simulator process prints once it serves.
type simProcReady struct {
	Control string            `json:"control"`
	Nodes   []ctisim.NodeInfo `json:"nodes"`
	Error   string            `json:"error,omitempty"`
}

func TestMain(m *testing.M) {
	if v := os.Getenv(simProcEnv); v != "" {
		os.Exit(runSimProcess(v))
	}
	if v := os.Getenv(natsProcEnv); v != "" {
		os.Exit(runNATSProcess(v))
	}
	os.Exit(m.Run())
}

// runSimProcess serves a simulator until its standard input closes (the
// parent exited or is done with it).
func runSimProcess(specJSON string) int {
	out := json.NewEncoder(os.Stdout)
	var spec simProcSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		_ = out.Encode(simProcReady{Error: err.Error()})
		return 2
	}
	srv, err := newSim(simSpec{phones: spec.Phones, heartbeat: spec.Heartbeat, traffic: shortCalls(spec.Rate, spec.Seed)}, "127.0.0.1:0")
	if err != nil {
		_ = out.Encode(simProcReady{Error: err.Error()})
		return 1
	}
	defer srv.Close()
	if err := out.Encode(simProcReady{Control: srv.ControlAddr(), Nodes: srv.Nodes()}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// simProcess is a simulator running in a child process (the test binary
// started again with simProcEnv set), driven over its HTTP control API.
// The latency benchmark uses it so that the bridge's process holds what
// it holds in production (engine, publisher, embedded NATS) and not the
// simulator's heap and garbage too: the CTIManager is another machine.
type simProcess struct {
	control string
	nodes   []ctisim.NodeInfo
}

func startSimProcess(tb testing.TB, spec simProcSpec) *simProcess {
	tb.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	var ready simProcReady
	startChild(tb, "simulator process", simProcEnv, string(js), &ready)
	if ready.Error != "" {
		tb.Fatalf("simulator process: %s", ready.Error)
	}
	return &simProcess{control: ready.Control, nodes: ready.Nodes}
}

// startChild starts the test binary again with env=value set (TestMain
// then serves as what names, instead of running tests), decodes the JSON
// line it prints once ready into ready, and stops it at cleanup by
// closing its standard input (killed after 30 s).
func startChild(tb testing.TB, what, env, value string, ready any) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(line, ready); err != nil {
		tb.Fatalf("%s: %v (%q)", what, err, line)
	}
}

// setRate changes the simulator's call rate.
func (p *simProcess) setRate(rate float64) error {
	resp, err := http.Post("http://"+p.control+"/rate?rate="+strconv.FormatFloat(rate, 'f', -1, 64), "", nil)
	if err != nil {
		return fmt.Errorf("simulator process: set rate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return errors.New("simulator process: set rate: " + resp.Status + ": " + string(b))
	}
	return nil
}
