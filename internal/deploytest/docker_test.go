package deploytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
)

// DockerTestEnv turns on TestComposeStackInDocker; .ci/run sets it after
// starting dockerd. When it is set, a missing prerequisite fails the test.
const DockerTestEnv = "CTIBRIDGE_DOCKER_TEST"

// TestComposeStackInDocker brings docker-compose.yml up in a real Docker
// engine: the images built from the Dockerfile, every healthcheck passing,
// the primary CTIManager killed through the simulator's control API, and
// the failover read back with the replay service. Everything it creates
// (containers, the network, volumes, images) is removed at the end.
//
// No registry can be reached where it runs, so the public base images are
// replaced by local stand-ins built here (docs/operations.md, "How the
// stack is tested"): the binaries are built on the host with the
// Dockerfile's own flags and installed with its `prebuilt` target on a
// scratch runtime with a nonroot user (for distroless), and the official
// nats image is a scratch image with the nats-server of go.mod and
// busybox-static (its healthcheck runs wget). The containers talk only on an
// internal network the test creates; no port is published on the host.
//
// Prerequisites: docker (CLI and a running engine, DOCKER_HOST honoured),
// compose v2 or later (`docker compose`, or the binary in
// CTIBRIDGE_COMPOSE), and a static busybox (CTIBRIDGE_BUSYBOX, default
// /bin/busybox, Debian's busybox-static).
func TestComposeStackInDocker(t *testing.T) {
	if os.Getenv(DockerTestEnv) != "1" {
		t.Skip("the compose stack runs in a real Docker engine only with " + DockerTestEnv +
			"=1 (.ci/run sets it after starting dockerd; needs docker, compose v2 and busybox-static)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s := newStack(t, ctx)
	s.buildImages()
	s.up()

	ctisim := s.containerIP("ctisim")
	bridge := s.containerIP("bridge")
	t.Logf("stack healthy; killing ctim-a through the control API at %s:2700", ctisim)
	s.post("http://" + ctisim + ":2700/faults/kill?node=ctim-a")

	type entry struct {
		Event      string `json:"event"`
		CTIManager string `json:"ctiManager"`
		Reason     string `json:"reason"`
		Detail     string `json:"detail"`
		Failover   int    `json:"failover"`
	}
	var tl []entry
	var out string
	testwait.Eventually(t, 4*time.Minute, "the failover from ctim-a to ctim-b in `replay timeline`", func() bool {
		out = s.replay("--json", "timeline")
		if err := json.Unmarshal([]byte(out), &tl); err != nil {
			t.Fatalf("replay --json timeline: %v\n%s", err, out)
		}
		lost := 0
		for _, e := range tl {
			switch {
			case e.Event == "CTIManagerLost" && e.CTIManager == "ctim-a":
				lost = e.Failover
			case lost > 0 && e.Event == "ProvInServiceEv" && e.CTIManager == "ctim-b" && e.Failover == lost:
				return true
			}
		}
		return false
	})
	started := false
	for _, e := range tl {
		if e.Event == "BridgeStarted" && strings.Contains(e.Detail, "version "+s.version) {
			started = true
		}
	}
	if !started {
		t.Errorf("no BridgeStarted with version %s in the timeline:\n%s", s.version, out)
	}
	metrics := s.get("http://" + bridge + ":8080/metrics")
	for _, want := range []string{"ctibridge_failovers_total 1", "ctibridge_provider_state 16",
		`ctibridge_ctimanager_connected{address="ctim-b:2758",ctimanager="ctim-b",least_priority="false"} 1`,
		`ctibridge_ctimanager_connected{address="ctim-a:2748",ctimanager="ctim-a",least_priority="false"} 0`,
		`ctibridge_provider_open_duration_seconds_count 2`} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(metrics) {
			t.Errorf("bridge /metrics has no %q after the failover", want)
		}
	}
	human := s.replay("timeline")
	t.Logf("replay timeline:\n%s", human)
}

// stack is one compose project with its images and network.
type stack struct {
	t       *testing.T
	ctx     context.Context
	id      string // project, network and image name prefix
	version string
	root    string // the repository
	dir     string // stand-in contexts and the compose override
	compCmd []string
	busybox string
	images  []string
}

func newStack(t *testing.T, ctx context.Context) *stack {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("prerequisite: the docker CLI is not on PATH (Debian's docker.io): %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "ctibridge-e2e-" + hex.EncodeToString(b)
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, ctx: ctx, id: id, version: "e2e-" + hex.EncodeToString(b), root: abs, dir: t.TempDir()}
	if out, err := s.exec("docker", "version", "--format", "{{.Server.Version}}"); err != nil {
		t.Fatalf("prerequisite: no Docker engine answers (start dockerd; DOCKER_HOST=%q): %v\n%s", os.Getenv("DOCKER_HOST"), err, out)
	}
	s.compCmd = []string{"docker", "compose"}
	if c := os.Getenv("CTIBRIDGE_COMPOSE"); c != "" {
		s.compCmd = strings.Fields(c)
	}
	out, err := s.exec(s.compCmd[0], append(s.compCmd[1:], "version")...)
	if err != nil {
		t.Fatalf("prerequisite: compose v2 (%s version): %v\n%s", strings.Join(s.compCmd, " "), err, out)
	}
	if m := regexp.MustCompile(`version v?(\d+)\.`).FindStringSubmatch(out); m != nil && m[1] == "1" {
		t.Fatalf("prerequisite: compose v2 or later is needed (up --wait, !reset), found %s", strings.TrimSpace(out))
	}
	s.busybox = os.Getenv("CTIBRIDGE_BUSYBOX")
	if s.busybox == "" {
		s.busybox = "/bin/busybox"
	}
	if err := checkStatic(s.busybox); err != nil {
		t.Fatalf("prerequisite: a static busybox for the nats stand-in's healthcheck (Debian's busybox-static; CTIBRIDGE_BUSYBOX): %v", err)
	}
	t.Logf("docker engine ready; compose: %s", strings.TrimSpace(out))
	return s
}

func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// exec runs a command in the repository, returning its combined output.
func (s *stack) exec(name string, args ...string) (string, error) {
	var out bytes.Buffer
	err := s.run(&out, &out, name, args...)
	return out.String(), err
}

func (s *stack) run(stdout, stderr io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(s.ctx, name, args...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), "CTIBRIDGE_VERSION="+s.version)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

// replay runs the replay service (profile tools) against the stack's
// NATS and returns what it printed on stdout.
func (s *stack) replay(args ...string) string {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	cargs := s.composeArgs(append([]string{"run", "--rm", "-T", "replay", "--server", "nats://nats:4222"}, args...)...)
	if err := s.run(&stdout, &stderr, s.compCmd[0], cargs...); err != nil {
		s.t.Fatalf("replay %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func (s *stack) must(name string, args ...string) string {
	s.t.Helper()
	out, err := s.exec(name, args...)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (s *stack) composeArgs(args ...string) []string {
	return append(append(s.compCmd[1:], "-p", s.id, "--project-directory", s.root,
		"-f", filepath.Join(s.root, "docker-compose.yml"), "-f", filepath.Join(s.dir, "override.yml")), args...)
}

func (s *stack) compose(args ...string) string {
	s.t.Helper()
	return s.must(s.compCmd[0], s.composeArgs(args...)...)
}

func (s *stack) image(name string) string {
	tag := s.id + "-" + name + ":standin"
	s.images = append(s.images, tag)
	return tag
}

// buildImages builds the two stand-ins and the project image from the
// Dockerfile's prebuilt target.
func (s *stack) buildImages() {
	t := s.t
	t.Cleanup(func() {
		for i := len(s.images) - 1; i >= 0; i-- {
			if out, err := s.cleanupExec("docker", "rmi", "-f", s.images[i]); err != nil {
				t.Errorf("removing image %s: %v\n%s", s.images[i], err, out)
			}
		}
	})
	df := readDockerfile(t)
	xflag := regexp.MustCompile(`-X (\S+)=\$\{VERSION\}`).FindStringSubmatch(df)
	if xflag == nil {
		t.Fatal("the Dockerfile injects no version")
	}
	bins := filepath.Join(s.dir, "bin")
	// One go build for the four binaries, with the Dockerfile's flags:
	// they share most packages.
	build := exec.CommandContext(s.ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X "+xflag[1]+"="+s.version,
		"-o", bins+"/", "./cmd/bridge", "./cmd/replay", "./cmd/ctisim", "github.com/nats-io/nats-server/v2")
	build.Dir = s.root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The runtime stand-in for distroless/static:nonroot: no shell, the
	// nonroot user (65532) and its home, /tmp.
	rt := filepath.Join(s.dir, "runtime")
	writeFiles(t, rt, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY etc/ /etc/\nCOPY tmp/ /tmp/\nCOPY --chown=65532:65532 home/ /home/\n",
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnonroot:x:65532:\n",
	})
	for _, d := range []string{"tmp", "home/nonroot"} {
		if err := os.MkdirAll(filepath.Join(rt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(rt, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	runtimeImage := s.image("runtime")
	s.must("docker", "build", "-q", "-t", runtimeImage, rt)

	// The nats stand-in: nats-server as the entrypoint (the official
	// image's entrypoint runs nats-server with the command's flags) and
	// busybox for wget.
	nc := filepath.Join(s.dir, "nats")
	writeFiles(t, nc, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n" +
			"RUN [\"/bin/mkdir\", \"-p\", \"/tmp\", \"/data\"]\nCOPY nats-server /usr/local/bin/nats-server\n" +
			"ENTRYPOINT [\"/usr/local/bin/nats-server\"]\n",
	})
	copyFile(t, s.busybox, filepath.Join(nc, "busybox"))
	copyFile(t, filepath.Join(bins, "nats-server"), filepath.Join(nc, "nats-server"))
	natsImage := s.image("nats")
	s.must("docker", "build", "-q", "-t", natsImage, nc)

	// The project image: the repository's Dockerfile, prebuilt target,
	// from a context holding only the three binaries.
	ctxDir := filepath.Join(s.dir, "ctx")
	for _, b := range []string{"bridge", "replay", "ctisim"} {
		copyFile(t, filepath.Join(bins, b), filepath.Join(ctxDir, b))
	}
	projectImage := s.image("ctibridge")
	s.must("docker", "build", "-q", "-f", filepath.Join(s.root, "Dockerfile"), "--target", "prebuilt",
		"--build-arg", "RUNTIME_IMAGE="+runtimeImage, "--build-arg", "VERSION="+s.version, "-t", projectImage, ctxDir)
	if v := strings.TrimSpace(s.must("docker", "run", "--rm", "--network", "none", projectImage, "version")); v != "bridge "+s.version {
		t.Errorf("the image says %q, built with VERSION=%s", v, s.version)
	}
	if u := strings.TrimSpace(s.must("docker", "image", "inspect", "-f", "{{.Config.User}} {{json .Config.ExposedPorts}}", projectImage)); u != `nonroot:nonroot {"8080/tcp":{}}` {
		t.Errorf("image user and ports: %s", u)
	}

	// The override: the stand-in images (never pulled, never built by
	// compose), no published port, the test's internal network.
	var o strings.Builder
	fmt.Fprintf(&o, "services:\n")
	c := load(t)
	for name, svc := range c.Services {
		if len(svc.Profiles) > 0 && name != "replay" {
			continue
		}
		img := projectImage
		if strings.HasPrefix(svc.Image, "nats:") {
			img = natsImage
		}
		fmt.Fprintf(&o, "  %s:\n    image: %s\n    pull_policy: never\n    ports: !reset []\n", name, img)
	}
	fmt.Fprintf(&o, "networks:\n  default:\n    name: %s\n    external: true\n", s.id)
	writeFiles(t, s.dir, map[string]string{"override.yml": o.String()})
}

// up creates the network and starts the default services, waiting for
// every healthcheck.
func (s *stack) up() {
	t := s.t
	s.must("docker", "network", "create", "--internal", s.id)
	t.Cleanup(func() {
		if out, err := s.cleanupExec("docker", "network", "rm", s.id); err != nil {
			t.Errorf("removing network %s: %v\n%s", s.id, err, out)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := s.cleanupExec(s.compCmd[0], s.composeArgs("logs", "--no-color", "--tail", "60")...)
			t.Logf("compose logs:\n%s", out)
		}
		if out, err := s.cleanupExec(s.compCmd[0], s.composeArgs("down", "--volumes", "--remove-orphans", "--timeout", "30")...); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	start := time.Now()
	s.compose("up", "--detach", "--wait", "--wait-timeout", "300")
	t.Logf("compose up --wait: every healthcheck passed after %s", time.Since(start).Round(time.Second))
	out := s.compose("ps", "--format", "{{.Service}} {{.State}} {{.Health}}")
	healthy := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[1] == "running" && f[2] == "healthy" {
			healthy[f[0]] = true
		}
	}
	for _, svc := range []string{"nats", "ctisim", "bridge"} {
		if !healthy[svc] {
			t.Fatalf("%s is not running and healthy:\n%s", svc, out)
		}
	}
}

// cleanupExec runs a teardown command with its own bound, since the
// test's context may have ended.
func (s *stack) cleanupExec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// containerIP is the address of a service's container on the test network.
func (s *stack) containerIP(service string) string {
	id := strings.TrimSpace(s.compose("ps", "-q", service))
	ip := strings.TrimSpace(s.must("docker", "inspect", "-f", `{{(index .NetworkSettings.Networks "`+s.id+`").IPAddress}}`, id))
	if ip == "" {
		s.t.Fatalf("%s has no address on %s", service, s.id)
	}
	return ip
}

func (s *stack) post(url string) {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.ctx, http.MethodPost, url, nil)
	s.do(req)
}

func (s *stack) get(url string) string {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(s.ctx, http.MethodGet, url, nil)
	return s.do(req)
}

func (s *stack) do(req *http.Request) string {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s %s: %s\n%s", req.Method, req.URL, resp.Status, b)
	}
	return string(b)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
