package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// limitDefaults are the defaults of the configurable limits as the engine
// and the publisher define them.
var limitDefaults = []struct {
	key  string // YAML key in its section
	want int64
	got  func(Config) int64
}{
	{"maxFrameSize", ctilink.DefaultMaxFrameSize, func(c Config) int64 { return int64(c.CTI.MaxFrameSize) }},
	{"maxDevices", ctiengine.DefaultMaxDevices, func(c Config) int64 { return int64(c.CTI.MaxDevices) }},
	{"maxCalls", callmodel.DefaultMaxCalls, func(c Config) int64 { return int64(c.CTI.MaxCalls) }},
	{"bufferBytes", jetstream.DefaultBufferBytes, func(c Config) int64 { return c.NATS.BufferBytes }},
}

func TestLimitsAbsentAreThePackageDefaults(t *testing.T) {
	c, err := Parse([]byte("cti:\n  login: app\nnats:\n  bufferSize: 5000\n"), Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range limitDefaults {
		if g := d.got(c); g != d.want {
			t.Errorf("%s absent from the file = %d, want the package default %d", d.key, g, d.want)
		}
	}
	v := validBase()
	if err := v.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

func TestLimitsFromYAML(t *testing.T) {
	y := `
cti:
  maxFrameSize: 1048576
  maxDevices: 20000
  maxCalls: 5000
nats:
  bufferBytes: 67108864
`
	c, err := Parse([]byte(y), validBase())
	if err != nil {
		t.Fatal(err)
	}
	if c.CTI.MaxFrameSize != 1<<20 || c.CTI.MaxDevices != 20000 || c.CTI.MaxCalls != 5000 || c.NATS.BufferBytes != 64<<20 {
		t.Fatalf("limits not decoded: cti %+v nats bufferBytes %d", c.CTI, c.NATS.BufferBytes)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Sizes are plain integers: a unit suffix is refused by name, not read
// as something else.
func TestLimitsAreIntegersNotUnits(t *testing.T) {
	_, err := Parse([]byte("cti:\n  maxFrameSize: 256KiB\nnats:\n  bufferBytes: 1GB\n"), Default())
	if err == nil {
		t.Fatal("unit suffixes accepted")
	}
	for _, w := range []string{"cti.maxFrameSize (line 2)", "nats.bufferBytes (line 4)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
}

func TestLimitsFromEnv(t *testing.T) {
	c := validBase()
	env := map[string]string{
		"CTIBRIDGE_CTI_MAX_FRAME_SIZE": "524288",
		"CTIBRIDGE_CTI_MAX_DEVICES":    "75000",
		"CTIBRIDGE_CTI_MAX_CALLS":      "250000",
		"CTIBRIDGE_NATS_BUFFER_BYTES":  "8589934592", // 8 GiB: beyond 32 bits
		"CTIBRIDGE_NATS_BUFFER_SIZE":   "400000",
		"CTIBRIDGE_NATS_MAX_IN_FLIGHT": "2048",
	}
	if err := ApplyEnv(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.CTI.MaxFrameSize != 512<<10 || c.CTI.MaxDevices != 75000 || c.CTI.MaxCalls != 250000 || c.NATS.BufferBytes != 8<<30 ||
		c.NATS.BufferSize != 400000 || c.NATS.MaxInFlight != 2048 {
		t.Fatalf("env not applied: cti %+v nats bufferBytes %d", c.CTI, c.NATS.BufferBytes)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	names := EnvNames()
	for k := range env {
		if !strings.Contains(strings.Join(names, " "), k) {
			t.Errorf("EnvNames (the help text) lacks %s", k)
		}
	}
}

func TestLimitsEnvNotANumber(t *testing.T) {
	c := validBase()
	env := map[string]string{"CTIBRIDGE_CTI_MAX_CALLS": "lots", "CTIBRIDGE_NATS_BUFFER_BYTES": "256MiB"}
	err := ApplyEnv(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{`CTIBRIDGE_CTI_MAX_CALLS: not a number: "lots"`, `CTIBRIDGE_NATS_BUFFER_BYTES: not a number: "256MiB"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if c.CTI.MaxCalls != callmodel.DefaultMaxCalls || c.NATS.BufferBytes != jetstream.DefaultBufferBytes {
		t.Fatalf("a bad value changed the configuration: %d %d", c.CTI.MaxCalls, c.NATS.BufferBytes)
	}
}

func TestLimitsValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // nil: valid
	}{
		{"frame 0 is the default", func(c *Config) { c.CTI.MaxFrameSize = 0 }, nil},
		{"frame 1 KiB", func(c *Config) { c.CTI.MaxFrameSize = 1 << 10 }, nil},
		{"frame 4 MiB", func(c *Config) { c.CTI.MaxFrameSize = 4 << 20 }, nil},
		{"frame below 1 KiB", func(c *Config) { c.CTI.MaxFrameSize = 1023 },
			[]string{"cti.maxFrameSize: 1023 bytes is out of range: use 1024 (1 KiB) to 4194304 (4 MiB), or 0 for the default 262144"}},
		{"frame above 4 MiB", func(c *Config) { c.CTI.MaxFrameSize = 4<<20 + 1 },
			[]string{"cti.maxFrameSize: 4194305 bytes is out of range: use 1024 (1 KiB) to 4194304 (4 MiB)"}},
		{"frame negative", func(c *Config) { c.CTI.MaxFrameSize = -1 }, []string{"cti.maxFrameSize: -1 bytes is out of range"}},
		{"devices 1", func(c *Config) { c.CTI.MaxDevices = 1 }, nil},
		{"devices 0 is the default", func(c *Config) { c.CTI.MaxDevices = 0 }, nil},
		{"devices negative", func(c *Config) { c.CTI.MaxDevices = -1 },
			[]string{"cti.maxDevices: is negative: use a positive bound or 0 for the default 50000"}},
		{"calls negative", func(c *Config) { c.CTI.MaxCalls = -3 },
			[]string{"cti.maxCalls: is negative: use a positive bound or 0 for the default"}},
		{"buffer 1 MiB", func(c *Config) { c.NATS.BufferBytes = 1 << 20 }, nil},
		{"buffer 0 is the default", func(c *Config) { c.NATS.BufferBytes = 0 }, nil},
		{"buffer below 1 MiB", func(c *Config) { c.NATS.BufferBytes = 1<<20 - 1 },
			[]string{"nats.bufferBytes: is 1048575 bytes; the minimum is 1048576 (1 MiB) (leave it out for the default 268435456)"}},
		{"in flight beyond the buffer", func(c *Config) { c.NATS.BufferSize, c.NATS.MaxInFlight = 100, 200 },
			[]string{"nats.maxInFlight: 200 exceeds nats.bufferSize 100: raise nats.bufferSize or lower nats.maxInFlight"}},
		{"all at once", func(c *Config) {
			c.CTI.MaxFrameSize, c.CTI.MaxDevices, c.CTI.MaxCalls, c.NATS.BufferBytes = 5<<20, -1, -1, 5
		}, []string{"cti.maxFrameSize:", "cti.maxDevices:", "cti.maxCalls:", "nats.bufferBytes:", "4 problem(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validBase()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			checkProblems(t, "Validate", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// The commented keys of deploy/bridge.yaml show the real defaults, so an
// operator who uncomments one gets what leaving it out gives (the
// reference in docs/operations.md is checked by
// TestConfigReferenceMatchesTheStruct).
func TestLimitDefaultsInTheDeployFile(t *testing.T) {
	deploy, err := os.ReadFile(filepath.Join("..", "..", "deploy", "bridge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range limitDefaults {
		want := strconv.FormatInt(d.want, 10)
		line := regexp.MustCompile(`(?m)^\s*# ` + d.key + `: ([0-9]+)\b`).FindSubmatch(deploy)
		if line == nil {
			t.Errorf("deploy/bridge.yaml does not show %s", d.key)
		} else if string(line[1]) != want {
			t.Errorf("deploy/bridge.yaml shows %s: %s, the package default is %s", d.key, line[1], want)
		}
	}
}
