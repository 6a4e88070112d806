package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/internal/config"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

const limitsYAML = `
cti:
  login: app
  ctiManagers:
    - {name: a, address: "127.0.0.1:2748"}
  maxFrameSize: 1048576
  maxDevices: 20000
  maxCalls: 5000
nats:
  bufferSize: 300000
  bufferBytes: 67108864
  maxInFlight: 512
`

// The limits set in the file and the environment are the ones the engine
// and the publisher are built with.
func TestLimitsReachEngineAndPublisher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, []byte(limitsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CTIBRIDGE_CTI_PASSWORD": "pw", "CTIBRIDGE_CTI_MAX_CALLS": "7000"}
	if err := config.ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	d, err := cfg.Build("limits-test")
	if err != nil {
		t.Fatal(err)
	}
	e := d.Bridge.Engine
	if e.MaxFrameSize != 1<<20 || e.MaxDevices != 20000 || e.MaxCalls != 7000 {
		t.Fatalf("engine limits: MaxFrameSize %d MaxDevices %d MaxCalls %d, want 1048576 20000 7000 (the environment wins for MaxCalls)",
			e.MaxFrameSize, e.MaxDevices, e.MaxCalls)
	}
	p := d.Bridge.Publisher
	if p.BufferSize != 300000 || p.BufferBytes != 64<<20 || p.MaxInFlight != 512 {
		t.Fatalf("publisher limits: BufferSize %d BufferBytes %d MaxInFlight %d, want 300000 67108864 512", p.BufferSize, p.BufferBytes, p.MaxInFlight)
	}
}

// Without the keys the engine and the publisher get their own defaults.
func TestLimitsDefaultToThePackages(t *testing.T) {
	cfg := config.Default()
	cfg.CTI.Login, cfg.CTI.Password = "app", "pw"
	cfg.CTI.CTIManagers = []config.CTIManager{{Name: "a", Address: "127.0.0.1:2748"}}
	d, err := cfg.Build("limits-test")
	if err != nil {
		t.Fatal(err)
	}
	e := d.Bridge.Engine
	if e.MaxFrameSize != ctilink.DefaultMaxFrameSize || e.MaxDevices != ctiengine.DefaultMaxDevices || e.MaxCalls != callmodel.DefaultMaxCalls {
		t.Fatalf("engine limits: %d %d %d, want the package defaults", e.MaxFrameSize, e.MaxDevices, e.MaxCalls)
	}
	if p := d.Bridge.Publisher; p.BufferBytes != jetstream.DefaultBufferBytes {
		t.Fatalf("publisher BufferBytes %d, want %d", p.BufferBytes, int64(jetstream.DefaultBufferBytes))
	}
}

// `bridge run --check` refuses an out-of-range limit from the environment
// as a usage error (exit 2) naming the key.
func TestRunCheckRefusesOutOfRangeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, []byte(limitsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTIBRIDGE_CTI_PASSWORD", "pw")
	run := func() (string, error) {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"run", "--config", path, "--check"})
		err := root.Execute()
		return out.String(), err
	}
	if out, err := run(); err != nil || !strings.Contains(out, "configuration is valid") {
		t.Fatalf("valid configuration: %q, %v", out, err)
	}
	t.Setenv("CTIBRIDGE_CTI_MAX_FRAME_SIZE", "8388608")
	_, err := run()
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("want a usage error, got %v", err)
	}
	if !strings.Contains(err.Error(), "cti.maxFrameSize: 8388608 bytes is out of range") {
		t.Fatalf("error does not name the key and value: %v", err)
	}
}

// `bridge run --check` and `bridge run` validate one translation with the
// packages' own rules: a jtapi.ini value the engine refuses (the finding:
// ProviderRetryInterval: 1 passed --check, then run refused it) is refused
// by both, with the same message naming the key, exit 2, before anything
// starts.
func TestRunCheckAndRunRefuseAlike(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	path := filepath.Join(dir, "bridge.yaml")
	doc := "cti:\n  login: app\n  ctiManagers: [{name: a, address: \"127.0.0.1:1\"}]\n  ProviderRetryInterval: 1\n" +
		"nats:\n  listen: 127.0.0.1:0\n  dataDir: " + strconv.Quote(dataDir) + "\nhttp:\n  listen: 127.0.0.1:0\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTIBRIDGE_CTI_PASSWORD", "pw")
	const want = "cti.ProviderRetryInterval: 1s is below the jtapi.ini minimum 5s: raise it"
	var stderrs []string
	for _, args := range [][]string{{"run", "--config", path, "--check"}, {"run", "--config", path}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), want) {
			t.Fatalf("bridge %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, errOut.String(), want)
		}
		stderrs = append(stderrs, errOut.String())
	}
	if stderrs[0] != stderrs[1] {
		t.Errorf("run --check and run disagree:\n%s\n%s", stderrs[0], stderrs[1])
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run started the embedded server before refusing the configuration (%s: %v)", dataDir, err)
	}

	// A valid value, in seconds or as a duration, passes both.
	for _, v := range []string{"5", "5s", "1m"} {
		fixed := strings.Replace(doc, "ProviderRetryInterval: 1\n", "ProviderRetryInterval: "+v+"\n", 1)
		if err := os.WriteFile(path, []byte(fixed), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"run", "--config", path, "--check"}, &out, &errOut); code != 0 {
			t.Errorf("ProviderRetryInterval: %s: exit %d, %s", v, code, errOut.String())
		}
	}
}
