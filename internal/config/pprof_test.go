package config

import (
	"strings"
	"testing"
)

func TestPprofFromYAMLAndEnv(t *testing.T) {
	c := validBase()
	if c.HTTP.Pprof {
		t.Fatal("the profiler is on by default")
	}
	env := map[string]string{"CTIBRIDGE_HTTP_PPROF": "true"}
	if err := ApplyEnv(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if !c.HTTP.Pprof {
		t.Fatal("CTIBRIDGE_HTTP_PPROF=true not applied")
	}
	env["CTIBRIDGE_HTTP_PPROF"] = "sometimes"
	if err := ApplyEnv(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil ||
		!strings.Contains(err.Error(), "CTIBRIDGE_HTTP_PPROF") {
		t.Fatalf("err %v, want CTIBRIDGE_HTTP_PPROF named", err)
	}
}

func TestPprofNeedsTheOpsAddress(t *testing.T) {
	c := validBase()
	c.HTTP.Pprof = true
	c.HTTP.Listen = ""
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "http.pprof") || !strings.Contains(err.Error(), "http.listen") {
		t.Fatalf("err %v, want http.pprof refused without http.listen", err)
	}
	c.HTTP.Listen = "127.0.0.1:8080"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
