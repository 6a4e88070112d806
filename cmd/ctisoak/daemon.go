package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
)

// daemon is the bridge under soak: the real `bridge run` binary in a
// process of its own, so that its memory is measured apart from the
// simulator, the NATS server and the checker that share this one.
type daemon struct {
	cmd     *exec.Cmd
	base    string // http://host:port of its ops endpoints
	logPath string
	logFile *os.File
	done    chan error
	http    *http.Client
}

// buildBridge compiles cmd/bridge into dir (ctisoak runs from the
// module, with `go run ./cmd/ctisoak`, so the toolchain is at hand).
func buildBridge(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "bridge")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/ctibridge/ctibridge/cmd/bridge").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/bridge: %w\n%s", err, out)
	}
	return bin, nil
}

// freeAddr reserves a loopback port for the daemon's ops endpoints.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startDaemon writes the daemon's configuration into dir and starts it;
// its JSON log goes to dir/bridge.log (and to stderr with verbose).
func startDaemon(bin, dir string, rig *faultmatrix.Rig, dupWindow time.Duration, pprof, verbose bool) (*daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "bridge.yaml")
	yaml := rig.DaemonConfig(faultmatrix.DaemonOptions{Instance: "soak", HTTPListen: addr, DuplicateWindow: dupWindow, Pprof: pprof})
	if err := os.WriteFile(config, yaml, 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "bridge.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	d := &daemon{
		cmd: exec.Command(bin, "run", "--config", config), base: "http://" + addr,
		logPath: logPath, logFile: lf, done: make(chan error, 1),
		http: &http.Client{Timeout: 10 * time.Second},
	}
	var out io.Writer = lf
	if verbose {
		out = io.MultiWriter(lf, os.Stderr)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	if err := d.cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	return d, nil
}

// status is the part of the daemon's /status document the soak reads.
type status struct {
	Engine struct {
		Provider   string `json:"provider"`
		Link       string `json:"link"`
		Ready      bool   `json:"ready"`
		CTIManager string `json:"ctiManager"`
		Calls      int    `json:"calls"`
	} `json:"engine"`
	Publisher struct {
		Buffered   int    `json:"buffered"`
		Acked      uint64 `json:"acked"`
		Duplicates uint64 `json:"duplicates"`
		Resends    uint64 `json:"resends"`
		Dropped    uint64 `json:"dropped"`
		Rejected   uint64 `json:"rejected"`
		Reordered  uint64 `json:"reordered"`
	} `json:"publisher"`
}

func (d *daemon) get(path string) ([]byte, error) {
	resp, err := d.http.Get(d.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

func (d *daemon) status() (status, error) {
	var st status
	b, err := d.get("/status")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("/status: %w", err)
	}
	return st, nil
}

// memory reads the daemon's live heap (what its last collection found
// live) and resident set from /metrics.
func (d *daemon) memory() (live, rss uint64, err error) {
	b, err := d.get("/metrics")
	if err != nil {
		return 0, 0, err
	}
	vals := gauges(string(b), "go_gc_heap_live_bytes", "process_resident_memory_bytes")
	live, okLive := vals["go_gc_heap_live_bytes"]
	rss, okRSS := vals["process_resident_memory_bytes"]
	if !okLive || !okRSS {
		return 0, 0, errors.New("/metrics: go_gc_heap_live_bytes or process_resident_memory_bytes missing")
	}
	return live, rss, nil
}

// gauges picks unlabelled samples from a Prometheus text exposition.
func gauges(text string, names ...string) map[string]uint64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]uint64{}
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !want[name] {
			continue
		}
		if f, err := strconv.ParseFloat(value, 64); err == nil && f >= 0 {
			out[name] = uint64(f)
		}
	}
	return out
}

// heapProfile saves the daemon's heap profile (after a collection) to path.
func (d *daemon) heapProfile(path string) error {
	b, err := d.get("/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// waitInService polls /status until the provider is in service with its
// snapshots in, or d passes, or the daemon exits.
func (d *daemon) waitInService(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for {
		if st, err := d.status(); err == nil {
			if st.Engine.Ready && st.Engine.Link == "up" {
				return nil
			}
			last = fmt.Sprintf("provider %s, link %s, ctimanager %q", st.Engine.Provider, st.Engine.Link, st.Engine.CTIManager)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridge not in service within %v (%s)", within, last)
		}
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("bridge exited (%v); its log: %s", err, d.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for the orderly exit (BridgeStopping,
// provider closed, everything flushed); it returns the exit code.
func (d *daemon) stop(within time.Duration) (int, error) {
	defer d.logFile.Close()
	select {
	case err := <-d.done: // it already exited
		return exitCode(err)
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case err := <-d.done:
		return exitCode(err)
	case <-time.After(within):
		_ = d.cmd.Process.Kill()
		<-d.done
		return -1, fmt.Errorf("bridge did not exit within %v of SIGTERM: killed", within)
	}
}

func exitCode(waitErr error) (int, error) {
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, waitErr
}

// kill ends the daemon abruptly (on an error path).
func (d *daemon) kill() {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.logFile.Close()
}

// logSummary counts the daemon's log lines by level and keeps the first
// few error messages, so the report says whether the bridge complained.
func logSummary(path string, keep int) (map[string]int, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	counts := map[string]int{}
	var errs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Level == "" {
			counts["unparsed"]++
			continue
		}
		counts[l.Level]++
		if (l.Level == "error" || l.Level == "fatal") && len(errs) < keep {
			msg := l.Message
			if l.Error != "" {
				msg += ": " + l.Error
			}
			errs = append(errs, msg)
		}
	}
	return counts, errs, sc.Err()
}
