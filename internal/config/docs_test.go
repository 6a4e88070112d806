package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docRow is one row of the configuration reference in docs/operations.md.
type docRow struct {
	line          int
	env, defaults string
}

// configReference reads the key tables of docs/operations.md's
// "Configuration" section: rows "| `key` | `ENV` or nothing | default |
// meaning |".
func configReference(t *testing.T) map[string]docRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal("docs/operations.md has no Configuration section")
	}
	end := strings.Index(text[start+1:], "\n## ")
	section := text[start:]
	if end >= 0 {
		section = text[start : start+1+end]
	}
	firstLine := strings.Count(text[:start], "\n") + 2
	row := regexp.MustCompile("^\\| `([^`]+)` \\|([^|]*)\\|([^|]*)\\|")
	rows := map[string]docRow{}
	for i, l := range strings.Split(section, "\n") {
		m := row.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("docs/operations.md:%d: %s is documented twice", firstLine+i-1, m[1])
		}
		rows[m[1]] = docRow{line: firstLine + i - 1, env: strings.Trim(strings.TrimSpace(m[2]), "`"), defaults: strings.TrimSpace(m[3])}
	}
	return rows
}

// The configuration reference and the Config struct agree both ways: every
// key is documented with its environment variable and its real default,
// and every documented key and variable exists.
func TestConfigReferenceMatchesTheStruct(t *testing.T) {
	rows := configReference(t)
	def := Default()
	keys := map[string]bool{}
	for _, k := range Keys() {
		keys[k.Path] = true
		r, ok := rows[k.Path]
		if !ok {
			t.Errorf("key %s is not in docs/operations.md's configuration reference: add a row | `%s` | env | default | meaning |", k.Path, k.Path)
			continue
		}
		if r.env != k.Env {
			t.Errorf("docs/operations.md:%d: %s's environment variable is %q there, %q in the code", r.line, k.Path, r.env, k.Env)
		}
		if k.field == nil {
			continue // an entry of a list or map: no default of its own
		}
		want := renderDefault(k.field(&def))
		got := strings.Trim(strings.Fields(r.defaults + " —")[0], "`")
		if got != want {
			t.Errorf("docs/operations.md:%d: %s's default is %q there, %q in the code", r.line, k.Path, got, want)
		}
	}
	for path, r := range rows {
		if !keys[path] {
			t.Errorf("docs/operations.md:%d documents %s, which is not a configuration key", r.line, path)
		}
	}
	documented := map[string]bool{}
	for _, r := range rows {
		if r.env != "" {
			documented[r.env] = true
		}
	}
	for _, e := range EnvNames() {
		if !documented[e] {
			t.Errorf("environment variable %s is not in docs/operations.md", e)
		}
	}
}

// renderDefault writes a default as the reference shows it: as it would be
// written in the file, "—" for nothing.
func renderDefault(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Seconds:
		return strconv.FormatInt(int64(x.Duration()/time.Second), 10)
	case Milliseconds:
		return strconv.FormatInt(int64(x.Duration()/time.Millisecond), 10)
	case time.Duration:
		s := x.String() // 168h0m0s, 10m0s
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	switch v.Kind() {
	case reflect.String:
		if v.Len() == 0 {
			return "—"
		}
		return v.String()
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return "—"
		}
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	}
	return v.String()
}

// Every environment variable sets the key it is documented for, parsed as
// the file would have it.
func TestEveryEnvVarSetsItsKey(t *testing.T) {
	values := map[string]string{
		"CTIBRIDGE_CLUSTER": "east", "CTIBRIDGE_SOURCE": "//cucm.example.com/east", "CTIBRIDGE_INSTANCE": "bridge-1",
		"CTIBRIDGE_CTI_MANAGERS": "a=10.0.0.1:2748", "CTIBRIDGE_CTI_LOGIN": "app", "CTIBRIDGE_CTI_PASSWORD": "pw",
		"CTIBRIDGE_CTI_INSTANCE_ID": "i1", "CTIBRIDGE_CTI_MAX_FRAME_SIZE": "4096", "CTIBRIDGE_CTI_MAX_DEVICES": "7",
		"CTIBRIDGE_CTI_MAX_CALLS": "8", "CTIBRIDGE_NATS_DATA_DIR": "/var/lib/x", "CTIBRIDGE_NATS_URL": "nats://n:4222",
		"CTIBRIDGE_NATS_CREDS": "c.creds", "CTIBRIDGE_NATS_USER": "u", "CTIBRIDGE_NATS_PASSWORD": "p", "CTIBRIDGE_NATS_TOKEN": "t",
		"CTIBRIDGE_NATS_REPLICAS": "3", "CTIBRIDGE_NATS_BUFFER_SIZE": "9", "CTIBRIDGE_NATS_BUFFER_BYTES": "8589934592",
		"CTIBRIDGE_NATS_MAX_IN_FLIGHT": "5", "CTIBRIDGE_HTTP_LISTEN": "0.0.0.0:9090", "CTIBRIDGE_HTTP_PPROF": "true",
		"CTIBRIDGE_NATS_SYNC_ALWAYS": "false", "CTIBRIDGE_NATS_STREAM": "CTI_V2", "CTIBRIDGE_NATS_STATE_VIEW": "false", "CTIBRIDGE_HA_ENABLED": "true", "CTIBRIDGE_HA_MODE": "hot",
		"CTIBRIDGE_LOG_LEVEL": "debug", "CTIBRIDGE_LOG_FORMAT": "json",
	}
	for _, k := range Keys() {
		if k.Env == "" {
			continue
		}
		v, ok := values[k.Env]
		if !ok {
			t.Errorf("%s: give it a value in this test", k.Env)
			continue
		}
		c := Default()
		before := renderDefault(k.field(&c))
		if err := ApplyEnv(&c, func(name string) (string, bool) { return v, name == k.Env }); err != nil {
			t.Errorf("%s=%s: %v", k.Env, v, err)
			continue
		}
		if after := renderDefault(k.field(&c)); after == before {
			t.Errorf("%s=%s left %s at %s", k.Env, v, k.Path, before)
		}
	}
}
