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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

// daemon is the bridge under soak: the real `bridge run` binary in a
// process of its own, so that its memory is measured apart from the
// simulator, the NATS server and the checker that share this one.
type daemon struct {
	*faultmatrix.Daemon
	base    string // http://host:port of its ops endpoints
	logPath string
	logFile *os.File
	http    *http.Client
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
	d := &daemon{base: "http://" + addr, logPath: logPath, logFile: lf, http: &http.Client{Timeout: 10 * time.Second}}
	var out io.Writer = lf
	if verbose {
		out = io.MultiWriter(lf, os.Stderr)
	}
	if d.Daemon, err = faultmatrix.StartDaemon(bin, config, out); err != nil {
		lf.Close()
		return nil, err
	}
	return d, nil
}

// status is the part of the daemon's /status document the soak reads.
type status struct {
	Engine    ctiengine.Status `json:"engine"`
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
			if st.Engine.Ready && st.Engine.Link == ctiengine.LinkUp.String() {
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
		case <-d.Exited():
			code, err := d.Wait()
			return fmt.Errorf("bridge exited (code %d, %v); its log: %s", code, err, d.logPath)
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
	return d.Stop(syscall.SIGTERM, within)
}

// kill ends the daemon abruptly (on an error path).
func (d *daemon) kill() {
	d.Kill()
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
