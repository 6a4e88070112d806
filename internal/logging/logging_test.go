package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Output that is not a terminal (a pipe, a file, a container's log) holds
// no ANSI escape codes: console format is plain text there, auto is JSON.
func TestNoANSICodesOffATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "bridge.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, w := range []struct {
		name string
		out  interface{ Write([]byte) (int, error) }
	}{{"buffer", &buf}, {"file", f}} {
		log, err := New(w.out, "info", FormatConsole)
		if err != nil {
			t.Fatal(err)
		}
		log.Info().Str("ctimanager", "ctim-a").Msg("provider in service")
		log.Warn().Msg("careful")
	}
	fileOut, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"buffer": buf.String(), "file": string(fileOut)} {
		if strings.Contains(out, "\x1b[") {
			t.Errorf("console output to a %s holds ANSI codes: %q", name, out)
		}
		if !strings.Contains(out, "INF provider in service ctimanager=ctim-a") {
			t.Errorf("console output to a %s: %q", name, out)
		}
	}

	buf.Reset()
	log, err := New(&buf, "info", FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hello")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["message"] != "hello" {
		t.Fatalf("auto off a terminal is not JSON: %q (%v)", buf.String(), err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Level: "debug", Format: FormatJSON}).Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{Level: "loud", Format: "xml"}.Validate()
	for _, want := range []string{`logging: Level "loud" is unknown`, `logging: Format "xml" is unknown`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
	if _, err := New(&bytes.Buffer{}, "", FormatJSON); err == nil {
		t.Error("an empty level accepted")
	}
}
