// Package deploytest checks docker-compose.yml and the Dockerfile against
// the code, since no Docker engine runs where the tests run: every command
// and flag a service uses exists, ports and addresses agree between the
// compose file, the bridge configuration and the simulated cluster, and the
// configurations the services load are valid.
package deploytest

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/internal/config"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

const root = "../.."

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Profiles    []string          `yaml:"profiles"`
	Networks    map[string]struct {
		Aliases []string `yaml:"aliases"`
	} `yaml:"networks"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

func load(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// binaries builds the three commands once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/bridge", "./cmd/replay", "./cmd/ctisim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func TestComposeServicesAndWiring(t *testing.T) {
	c := load(t)
	for _, name := range []string{"nats", "ctisim", "bridge", "replay", "nats-1", "nats-2", "nats-3", "bridge-cluster", "bridge-a", "bridge-b"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("service %s missing", name)
		}
	}
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			continue
		}
		if s.Image != "ctibridge:local" || s.Build == nil {
			t.Errorf("%s: want the project image built from the Dockerfile, got %q", name, s.Image)
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s, which does not exist", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s uses volume %s, not declared under volumes:", name, src)
			}
		}
		if name != "replay" && len(s.Healthcheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	if slices.Contains(c.Services["replay"].Profiles, "tools") == false {
		t.Error("replay should be a tool service (profile tools)")
	}
	for _, n := range []string{"nats-1", "nats-2", "nats-3", "bridge-cluster"} {
		if !slices.Contains(c.Services[n].Profiles, "cluster") {
			t.Errorf("%s should be in the cluster profile", n)
		}
	}
	// Named volumes for every NATS store.
	for _, n := range []string{"nats", "nats-1", "nats-2", "nats-3"} {
		if !slices.ContainsFunc(c.Services[n].Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
			t.Errorf("%s keeps JetStream on no named volume", n)
		}
		if !slices.Contains(c.Services[n].Command, "--jetstream") {
			t.Errorf("%s does not enable JetStream", n)
		}
	}
}

// TestComposeCommandsExist runs every project command line of the compose
// file with --help and checks each flag it uses is a flag of that command.
func TestComposeCommandsExist(t *testing.T) {
	c := load(t)
	bin := binaries(t)
	for name, s := range c.Services {
		if s.Image != "ctibridge:local" {
			continue
		}
		args := append([]string(nil), s.Command...)
		exe := "bridge"
		if len(s.Entrypoint) > 0 {
			exe = filepath.Base(s.Entrypoint[0])
			if s.Entrypoint[0] != "/usr/local/bin/"+exe {
				t.Errorf("%s: entrypoint %s is not where the Dockerfile installs binaries", name, s.Entrypoint[0])
			}
		}
		checkCommandLine(t, name, filepath.Join(bin, exe), args)
		if hc := s.Healthcheck.Test; len(hc) > 2 {
			checkCommandLine(t, name+" healthcheck", filepath.Join(bin, filepath.Base(hc[1])), hc[2:])
		}
	}
}

var flagRE = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

func checkCommandLine(t *testing.T, what, exe string, args []string) {
	t.Helper()
	var sub []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		if strings.Contains(a, "://") {
			break
		}
		sub = append(sub, a)
	}
	cmd := exec.Command(exe, append(sub, "--help")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: %s %v --help: %v\n%s", what, filepath.Base(exe), sub, err, out.String())
		return
	}
	help := out.String()
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		f := flagRE.FindString(a)
		if !regexp.MustCompile(regexp.QuoteMeta(f) + `\b`).MatchString(help) {
			t.Errorf("%s: %s %v has no flag %s", what, filepath.Base(exe), sub, f)
		}
	}
}

func TestComposeAddressesAgreeWithConfigs(t *testing.T) {
	c := load(t)
	b := c.Services["bridge"]
	cfg, err := config.Load(filepath.Join(root, "deploy/bridge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := b.Environment
	if err := config.ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the bridge service's configuration is invalid: %v", err)
	}

	// CTIManagers: every address resolves to the ctisim service (by alias)
	// and to a node's port in the simulated cluster.
	sim := c.Services["ctisim"]
	aliases := sim.Networks["default"].Aliases
	simCfgPath := ""
	for _, v := range sim.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && slices.Contains(sim.Command, parts[1]) {
			simCfgPath = parts[0]
		}
	}
	if simCfgPath == "" {
		t.Fatal("ctisim does not load a mounted --config")
	}
	data, err := os.ReadFile(filepath.Join(root, simCfgPath))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := ctisim.ParseCluster(data)
	if err != nil {
		t.Fatalf("%s: %v", simCfgPath, err)
	}
	if cluster.Name != cfg.Cluster {
		t.Errorf("simulated cluster %q, bridge cluster %q", cluster.Name, cfg.Cluster)
	}
	for _, m := range cfg.CTI.CTIManagers {
		host, port := splitHostPort(t, m.Address)
		_, tlsPort := splitHostPort(t, m.TLSAddress)
		if !slices.Contains(aliases, host) {
			t.Errorf("CTIManager %s at %s: host is not a network alias of ctisim %v", m.Name, m.Address, aliases)
		}
		found := false
		for _, n := range cluster.CTIManagers {
			if n.Name == m.Name {
				found = true
				if n.Port != port || n.TLSPort != tlsPort {
					t.Errorf("CTIManager %s: bridge uses ports %d/%d, simulator serves %d/%d", m.Name, port, tlsPort, n.Port, n.TLSPort)
				}
				if n.Host != "0.0.0.0" {
					t.Errorf("CTIManager %s listens on %q: unreachable from other containers", n.Name, n.Host)
				}
			}
		}
		if !found {
			t.Errorf("CTIManager %s is not a node of %s", m.Name, simCfgPath)
		}
	}
	for _, u := range cfg.NATS.URLs {
		pu, err := url.Parse(u)
		if err != nil || pu.Hostname() != "nats" || pu.Port() != "4222" {
			t.Errorf("bridge NATS URL %s: want nats://nats:4222 (the nats service)", u)
		}
	}
	if !slices.Contains(c.Services["nats"].Ports, "4222:4222") {
		t.Error("nats does not publish the client port 4222")
	}
	// Ops endpoint: config listen port = healthcheck port = published port.
	_, httpPort := splitHostPort(t, cfg.HTTP.Listen)
	checkHealthPort(t, "bridge", b, httpPort)
	if !slices.Contains(b.Ports, strconv.Itoa(httpPort)+":"+strconv.Itoa(httpPort)) {
		t.Errorf("bridge publishes %v, not its ops port %d", b.Ports, httpPort)
	}
	// ctisim control API.
	ctl := flagValue(sim.Command, "--control")
	_, ctlPort := splitHostPort(t, ctl)
	checkHealthPort(t, "ctisim", sim, ctlPort)
	// The cluster bridge overrides the listen address with a flag.
	bc := c.Services["bridge-cluster"]
	_, bcPort := splitHostPort(t, flagValue(bc.Command, "--http-listen"))
	checkHealthPort(t, "bridge-cluster", bc, bcPort)
	if bc.Environment["CTIBRIDGE_NATS_REPLICAS"] != "3" {
		t.Error("bridge-cluster should provision R3 streams")
	}
	for _, u := range strings.Split(bc.Environment["CTIBRIDGE_NATS_URL"], ",") {
		pu, _ := url.Parse(u)
		if _, ok := c.Services[pu.Hostname()]; !ok {
			t.Errorf("bridge-cluster NATS URL %s names no service", u)
		}
	}
	// The high-availability pair: same configuration, own instance names
	// and instanceIds, HA on, each health-checked on its own ops port.
	instances := map[string]bool{}
	for _, name := range []string{"bridge-a", "bridge-b"} {
		s := c.Services[name]
		if !slices.Contains(s.Profiles, "ha") {
			t.Errorf("%s should be in the ha profile", name)
		}
		hcfg, err := config.Load(filepath.Join(root, "deploy/bridge.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := config.ApplyEnv(&hcfg, func(k string) (string, bool) { v, ok := s.Environment[k]; return v, ok }); err != nil {
			t.Fatal(err)
		}
		if err := hcfg.Validate(); err != nil {
			t.Fatalf("%s's configuration is invalid: %v", name, err)
		}
		if !hcfg.HA.Enabled || hcfg.Instance == "" || hcfg.CTI.InstanceID == "" {
			t.Errorf("%s: HA %v, instance %q, instanceId %q: want HA on with its own names", name, hcfg.HA.Enabled, hcfg.Instance, hcfg.CTI.InstanceID)
		}
		if instances[hcfg.Instance] || instances[hcfg.CTI.InstanceID] {
			t.Errorf("%s shares its instance or instanceId with the other member (a hot pair needs its own)", name)
		}
		instances[hcfg.Instance], instances[hcfg.CTI.InstanceID] = true, true
		_, port := splitHostPort(t, flagValue(s.Command, "--http-listen"))
		checkHealthPort(t, name, s, port)
	}
	// The replay tool talks to the nats service.
	if flagValue(c.Services["replay"].Command, "--server") != "nats://nats:4222" {
		t.Error("replay does not point at nats://nats:4222")
	}
}

func checkHealthPort(t *testing.T, name string, s service, port int) {
	t.Helper()
	hc := strings.Join(s.Healthcheck.Test, " ")
	if !strings.Contains(hc, ":"+strconv.Itoa(port)+"/") {
		t.Errorf("%s healthcheck %q does not probe port %d", name, hc, port)
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatalf("%q: %v", hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", hp, err)
	}
	return h, n
}

func TestDockerfileBuildsTheCommands(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	gomod, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if goVer == nil || !strings.Contains(df, "FROM golang:"+goVer[1]) {
		t.Errorf("Dockerfile does not build with the go.mod Go version %v", goVer)
	}
	for _, c := range []string{"bridge", "replay", "ctisim"} {
		if !strings.Contains(df, "./cmd/"+c) {
			t.Errorf("Dockerfile does not build ./cmd/%s", c)
		}
		if _, err := os.Stat(filepath.Join(root, "cmd", c)); err != nil {
			t.Errorf("cmd/%s missing", c)
		}
		if !strings.Contains(df, "/out/"+c) || !strings.Contains(df, "/usr/local/bin/") {
			t.Errorf("Dockerfile does not install %s into /usr/local/bin", c)
		}
	}
	if !strings.Contains(df, "CGO_ENABLED=0") {
		t.Error("binaries must be static for the distroless image")
	}
	if !regexp.MustCompile(`(?m)^USER nonroot`).MatchString(df) {
		t.Error("the final image should not run as root")
	}
}
