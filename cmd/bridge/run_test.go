package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := engineConfig(cfg.CTI)
	if e.MaxFrameSize != 1<<20 || e.MaxDevices != 20000 || e.MaxCalls != 7000 {
		t.Fatalf("engine limits: MaxFrameSize %d MaxDevices %d MaxCalls %d, want 1048576 20000 7000 (the environment wins for MaxCalls)",
			e.MaxFrameSize, e.MaxDevices, e.MaxCalls)
	}
	p := publisherConfig(cfg.NATS)
	if p.BufferSize != 300000 || p.BufferBytes != 64<<20 || p.MaxInFlight != 512 {
		t.Fatalf("publisher limits: BufferSize %d BufferBytes %d MaxInFlight %d, want 300000 67108864 512", p.BufferSize, p.BufferBytes, p.MaxInFlight)
	}
}

// Without the keys the engine and the publisher get their own defaults.
func TestLimitsDefaultToThePackages(t *testing.T) {
	cfg := config.Default()
	e := engineConfig(cfg.CTI)
	if e.MaxFrameSize != ctilink.DefaultMaxFrameSize || e.MaxDevices != ctiengine.DefaultMaxDevices || e.MaxCalls != callmodel.DefaultMaxCalls {
		t.Fatalf("engine limits: %d %d %d, want the package defaults", e.MaxFrameSize, e.MaxDevices, e.MaxCalls)
	}
	if p := publisherConfig(cfg.NATS); p.BufferBytes != jetstream.DefaultBufferBytes {
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
	if !strings.Contains(err.Error(), "cti.maxFrameSize: is 8388608 bytes") {
		t.Fatalf("error does not name the key and value: %v", err)
	}
}
