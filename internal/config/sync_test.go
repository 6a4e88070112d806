package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Durable acks are the default: the embedded server fsyncs every write;
// the YAML file and the environment can turn it off.
func TestSyncAlwaysDefaultFileAndEnv(t *testing.T) {
	if !Default().NATS.SyncAlways {
		t.Fatal("nats.syncAlways is off by default")
	}
	path := filepath.Join(t.TempDir(), "b.yaml")
	if err := os.WriteFile(path, []byte("nats:\n  syncAlways: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.SyncAlways {
		t.Fatal("syncAlways: false in the file not applied")
	}
	env := map[string]string{"CTIBRIDGE_NATS_SYNC_ALWAYS": "true"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := ApplyEnv(&c, lookup); err != nil || !c.NATS.SyncAlways {
		t.Fatalf("CTIBRIDGE_NATS_SYNC_ALWAYS=true: %v, syncAlways %v", err, c.NATS.SyncAlways)
	}
	env["CTIBRIDGE_NATS_SYNC_ALWAYS"] = "always"
	if err := ApplyEnv(&c, lookup); err == nil || !strings.Contains(err.Error(), "CTIBRIDGE_NATS_SYNC_ALWAYS") {
		t.Fatalf("err %v, want CTIBRIDGE_NATS_SYNC_ALWAYS named", err)
	}
}
