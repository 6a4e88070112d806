package config

import (
	"strings"
	"testing"
)

// Decoding errors name the key, like Validate's problems.
func TestParseErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"type", "cti:\n  login: app\n  DesiredServerHeartbeatInterval: ten\n",
			[]string{"cti.DesiredServerHeartbeatInterval (line 3)", "cannot unmarshal", "ten"}},
		{"unknown key", "nats:\n  stream: CTI\n  bufferSzie: 10\n",
			[]string{`nats.bufferSzie (line 3): unknown key "bufferSzie"`}},
		{"sequence entry", "cti:\n  ctiManagers:\n    - name: a\n      address: 10.0.0.1:2748\n    - name: b\n      leastPriority: maybe\n",
			[]string{"cti.ctiManagers[1].leastPriority (line 6)", "into bool"}},
		{"flow mapping", "cti:\n  ctiManagers: [{name: a, address: x, port: 1}]\n",
			[]string{`cti.ctiManagers (line 2): unknown key "port"`}},
		{"duration", "nats:\n  duplicateWindow: 10 minutes\n",
			[]string{"nats.duplicateWindow (line 2)", "time.Duration"}},
		{"hostile map key", "cti:\n  routePoints:\n    \"a\\nb: x\": 5\n",
			[]string{`cti.routePoints["a\nb: x"] (line 3)`}},
		{"not a mapping", "\n0", []string{"top level (line 2): cannot unmarshal", "must be a mapping of settings"}},
		{"a list", "- cluster: a\n", []string{"top level (line 1)", "must be a mapping"}},
		{"list as a key", "{[],0}", []string{"top level (line 1): cannot unmarshal !!seq into string"}},
		{"list where settings belong", "cti:\n-\n 000", []string{"cti (line 2): cannot unmarshal !!seq into config.CTIConfig"}},
		{"two problems", "cluster: [a]\nlog:\n  level: {x: 1}\n",
			[]string{"2 problem(s)", "cluster (line 1)", "log.level (line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), Default())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// A syntax error has no key to name; yaml's line number stays.
	if _, err := Parse([]byte("cti:\n  login: [\n"), Default()); err == nil || !strings.Contains(err.Error(), "line") {
		t.Fatalf("syntax error %v does not name the line", err)
	}
}

// Map keys are free text: Validate quotes them when they are not plain
// tokens, so a key cannot break the one-problem-per-line format.
func TestValidateQuotesMapKeys(t *testing.T) {
	c := validBase()
	c.CTI.RoutePoints = map[string][]string{"5000": nil, "x\ny: forged": nil}
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"cti.routePoints.5000: lists 0 numbers: give 1 to 32 destinations", `cti.routePoints["x\ny: forged"]: lists 0 numbers`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want a header and two problem lines:\n%s", err)
	}
}

// A file holding only comments is an empty configuration (found by
// FuzzParse: it used to fail with "config: EOF").
func TestParseCommentsOnly(t *testing.T) {
	c, err := Parse([]byte("# bridge.yaml\n# everything from the environment\n"), Default())
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != Default().Cluster || c.NATS.BufferSize != Default().NATS.BufferSize {
		t.Fatalf("defaults lost: %+v", c)
	}
}
