package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func TestHelpAndUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"--rate", "--seed", "--ground-truth", "--control", "--tls-dir", "pki", "faults/kill"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
	if code := run(context.Background(), []string{"--bogus"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("unknown flag exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"pki"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("pki without --dir exit %d, want 2", code)
	}
}

func TestPKISubcommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"pki", "--dir", dir, "--instance", "id1", "--instance", "id2"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"ca.pem", "ca-key.pem", "server-ctim-a.pem", "server-ctim-c-key.pem", "client-id1.pem", "client-id2-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if code := run(context.Background(), []string{"pki", "--dir", dir, "--instance", "id1"}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("overwriting a CA without --force: exit %d", code)
	}
}

func TestServePrintsPortsAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testwait.Buffer
	gt := filepath.Join(t.TempDir(), "gt.jsonl")
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--ephemeral-ports", "--control", "127.0.0.1:0", "--rate", "0",
			"--ground-truth", gt, "--tls-dir", filepath.Join(t.TempDir(), "pki"), "--log-level", "warn"}, &out, io.Discard)
	}()
	re := regexp.MustCompile(`CTIManager ctim-a\s+plain (\S+)\s+tls (\S+)`)
	var addr string
	if !testwait.Poll(20*time.Second, func() bool {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "running until interrupted") {
			addr = m[1]
		}
		return addr != ""
	}) {
		t.Fatalf("no ports printed: %q", out.String())
	}
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := ctilink.NewConn(nc, 0)
	if _, err := c.Write(ctilink.ProviderOpenRequest{Login: "ctibridge", Password: "secret", ProtocolVersions: []int{1}}); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.Read(); err != nil || m.Type() != ctilink.TypeProviderOpenResponse {
		t.Fatalf("first frame %v %v", m, err)
	}
	if _, m, err := c.Read(); err != nil || m.(ctilink.ProviderOpenCompleted).Reason != ctilink.CloseNone {
		t.Fatalf("second frame %v %v", m, err)
	}
	c.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	f, err := os.Open(gt)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		if !strings.Contains(sc.Text(), `"session":"ctim-a-`) {
			t.Fatalf("ground-truth line %s", sc.Text())
		}
	}
	if n < 2 {
		t.Fatalf("%d ground-truth lines", n)
	}
}

// Each failure is one message with the command's prefix once (the
// simulator package's errors already carry it: they printed as
// "ctisim: ctisim: ...").
func TestErrorsSayCtisimOnce(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nnodes: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, 1, "ctisim: reading cluster config: open "},
		{[]string{"--config", bad}, 1, "ctisim: " + bad + ": parsing cluster YAML: "},
		{[]string{"--rate", "-5", "--ephemeral-ports", "--control", ""}, 1, "ctisim: Traffic.Rate -5 is negative"},
		{[]string{"--bogus"}, 2, "ctisim: usage: unknown flag: --bogus"},
	} {
		var errb bytes.Buffer
		code := run(context.Background(), tc.args, io.Discard, &errb)
		if code != tc.code || !strings.HasPrefix(errb.String(), tc.want) || strings.Count(errb.String(), "ctisim: ") != 1 {
			t.Errorf("ctisim %s: exit %d, stderr %q; want exit %d, %q, the prefix once", strings.Join(tc.args, " "), code, errb.String(), tc.code, tc.want)
		}
	}
}

// The start-up lines docs/simulator.md shows are the ones `ctisim` prints
// (ports and column padding aside).
func TestBannerAsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "simulator.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "It prints the ports and runs until interrupted")
	if !ok {
		t.Fatal("docs/simulator.md no longer shows the start-up lines")
	}
	parts := strings.SplitN(after, "```", 3)
	if len(parts) < 3 {
		t.Fatal("docs/simulator.md: no code block after the start-up sentence")
	}
	want := strings.TrimSpace(parts[1])

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testwait.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--ephemeral-ports", "--control", "127.0.0.1:0", "--log-level", "warn"}, &out, io.Discard)
	}()
	testwait.Eventually(t, 20*time.Second, "the start-up lines", func() bool {
		return strings.Contains(out.String(), "running until interrupted")
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	normalize := func(s string) string {
		s = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`).ReplaceAllString(s, "127.0.0.1:PORT")
		return regexp.MustCompile(` +`).ReplaceAllString(strings.TrimSpace(s), " ")
	}
	if got := normalize(out.String()); got != normalize(want) {
		t.Errorf("ctisim prints\n%s\ndocs/simulator.md shows\n%s", got, normalize(want))
	}
}
