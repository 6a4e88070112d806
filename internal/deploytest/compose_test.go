// Package deploytest checks docker-compose.yml, the Dockerfile and
// .dockerignore against the code: every command and flag a service uses
// exists, ports and addresses agree between the compose file, the bridge
// configuration and the simulated cluster, the configurations the services
// load are valid, and the operational settings (restart policy, stop grace
// period, version, exposed ports, build context) are there. With
// CTIBRIDGE_DOCKER_TEST=1 it also brings the stack up in a real Docker
// engine (docker_test.go).
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
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/internal/config"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

const root = "../.."

type service struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Restart         string            `yaml:"restart"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Expose          []string          `yaml:"expose"`
	Entrypoint      []string          `yaml:"entrypoint"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Ports           []string          `yaml:"ports"`
	Profiles        []string          `yaml:"profiles"`
	Networks        map[string]struct {
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
		if s.Image == gatewayImage {
			// The JTAPI gateway's own image (TestComposeCUCMProfile checks it).
		} else if s.Image != "ctibridge:local" || s.Build == nil {
			t.Errorf("%s: want the project image built from the Dockerfile, got %q", name, s.Image)
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "${") {
				continue // the user's directory, named by an environment variable
			}
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

// bridgeServices are the services running `bridge run`.
func bridgeServices(c compose) []string {
	var out []string
	for name, s := range c.Services {
		if s.Image == "ctibridge:local" && len(s.Entrypoint) == 0 && len(s.Command) > 0 && s.Command[0] == "run" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// mountedConfig is the host file mounted where the service's --config
// flag points.
func mountedConfig(t *testing.T, name string, s service) string {
	t.Helper()
	want := flagValue(s.Command, "--config")
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == want {
			return parts[0]
		}
	}
	t.Fatalf("%s: --config %q is not a mounted file", name, want)
	return ""
}

// bridgeConfig is the configuration a bridge service runs with: its
// mounted file, then its environment, then the flags it passes.
func bridgeConfig(t *testing.T, name string, s service) config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(root, mountedConfig(t, name, s)))
	if err != nil {
		t.Fatal(err)
	}
	env := s.Environment
	if err := config.ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if l := flagValue(s.Command, "--http-listen"); l != "" {
		cfg.HTTP.Listen = l
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the %s service's configuration is invalid: %v", name, err)
	}
	return cfg
}

// simulatorOf returns the simulator service a bridge service's CTIManagers
// are nodes of, checking they are reached by its name or a network alias at
// the ports those nodes serve; "" when they are not simulated (a JTAPI
// gateway service or a real cluster). A list mixing both is an error.
func simulatorOf(t *testing.T, c compose, name string, cfg config.Config) string {
	t.Helper()
	sim, elsewhere := "", 0
	for _, m := range cfg.CTI.CTIManagers {
		host, port := splitHostPort(t, m.Address)
		tlsHost, tlsPort := host, 0 // no TLS address: a plain-only CTIManager (a JTAPI gateway's default)
		if m.TLSAddress != "" {
			tlsHost, tlsPort = splitHostPort(t, m.TLSAddress)
		}
		owner := ""
		for sn, s := range c.Services {
			if sn == host || slices.Contains(s.Networks["default"].Aliases, host) {
				owner = sn
			}
		}
		s, ok := c.Services[owner]
		if !ok || len(s.Entrypoint) == 0 || filepath.Base(s.Entrypoint[0]) != "ctisim" {
			elsewhere++
			continue
		}
		if tlsHost != host && !slices.Contains(s.Networks["default"].Aliases, tlsHost) {
			t.Errorf("%s: CTIManager %s TLS address %s is not %s", name, m.Name, m.TLSAddress, owner)
		}
		if sim != "" && owner != sim {
			t.Errorf("%s: CTIManagers on two simulators (%s, %s): one CUCM cluster is one simulator", name, sim, owner)
		}
		sim = owner
		simCfg := mountedConfig(t, owner, s)
		data, err := os.ReadFile(filepath.Join(root, simCfg))
		if err != nil {
			t.Fatal(err)
		}
		cluster, err := ctisim.ParseCluster(data)
		if err != nil {
			t.Fatalf("%s: %v", simCfg, err)
		}
		if cluster.Name != cfg.Cluster {
			t.Errorf("%s: simulated cluster %q, bridge cluster %q", name, cluster.Name, cfg.Cluster)
		}
		found := false
		for _, n := range cluster.CTIManagers {
			if n.Name != m.Name {
				continue
			}
			found = true
			if n.Port != port || n.TLSPort != tlsPort {
				t.Errorf("%s: CTIManager %s: bridge uses ports %d/%d, %s serves %d/%d", name, m.Name, port, tlsPort, owner, n.Port, n.TLSPort)
			}
			if n.Host != "0.0.0.0" {
				t.Errorf("CTIManager %s listens on %q: unreachable from other containers", n.Name, n.Host)
			}
			for _, p := range []int{n.Port, n.TLSPort} {
				if !slices.Contains(s.Expose, strconv.Itoa(p)) {
					t.Errorf("%s does not declare (expose) the CTI port %d it serves", owner, p)
				}
			}
		}
		if !found {
			t.Errorf("%s: CTIManager %s is not a node of %s", name, m.Name, simCfg)
		}
	}
	if sim != "" && elsewhere > 0 {
		t.Errorf("%s: %d CTIManagers on %s and %d elsewhere: one CUCM cluster is one simulator", name, len(cfg.CTI.CTIManagers)-elsewhere, sim, elsewhere)
	}
	return sim
}

func TestComposeAddressesAgreeWithConfigs(t *testing.T) {
	c := load(t)
	bridges := bridgeServices(c)
	for _, want := range []string{"bridge", "bridge-cluster"} {
		if !slices.Contains(bridges, want) {
			t.Fatalf("bridge services %v: no %s", bridges, want)
		}
	}
	for _, name := range bridges {
		b := c.Services[name]
		cfg := bridgeConfig(t, name, b)
		sim := simulatorOf(t, c, name, cfg)
		if (name == "bridge" || name == "bridge-cluster") && sim == "" {
			t.Errorf("%s is not on a simulated cluster", name)
		}
		if _, ok := b.DependsOn[sim]; sim != "" && !ok {
			t.Errorf("%s does not wait for its simulator %s", name, sim)
		}
		// Ops endpoint: listen port = healthcheck port = published port.
		_, httpPort := splitHostPort(t, cfg.HTTP.Listen)
		checkHealthPort(t, name, b, httpPort)
		if !slices.Contains(b.Ports, strconv.Itoa(httpPort)+":"+strconv.Itoa(httpPort)) {
			t.Errorf("%s publishes %v, not its ops port %d", name, b.Ports, httpPort)
		}
		// Every NATS URL names a NATS service the bridge waits for.
		for _, u := range cfg.NATS.URLs {
			pu, err := url.Parse(u)
			if err != nil || pu.Port() != "4222" {
				t.Errorf("%s: NATS URL %s: want port 4222", name, u)
				continue
			}
			if s, ok := c.Services[pu.Hostname()]; !ok || !slices.Contains(s.Command, "--jetstream") {
				t.Errorf("%s: NATS URL %s names no JetStream service", name, u)
			} else if _, ok := b.DependsOn[pu.Hostname()]; !ok {
				t.Errorf("%s does not wait for %s", name, pu.Hostname())
			}
		}
	}
	if !slices.Contains(c.Services["nats"].Ports, "4222:4222") {
		t.Error("nats does not publish the client port 4222")
	}
	if n := len(bridgeConfig(t, "bridge", c.Services["bridge"]).NATS.URLs); n != 1 {
		t.Errorf("bridge uses %d NATS URLs: want the one nats service", n)
	}
	// Simulator control APIs.
	for _, sim := range []string{"ctisim", "ctisim-cluster"} {
		_, ctlPort := splitHostPort(t, flagValue(c.Services[sim].Command, "--control"))
		checkHealthPort(t, sim, c.Services[sim], ctlPort)
	}
	if c.Services["bridge-cluster"].Environment["CTIBRIDGE_NATS_REPLICAS"] != "3" {
		t.Error("bridge-cluster should provision R3 streams")
	}
	// The high-availability pair: same configuration, own instance names
	// and instanceIds, HA on.
	instances := map[string]bool{}
	for _, name := range []string{"bridge-a", "bridge-b"} {
		s := c.Services[name]
		if !slices.Contains(s.Profiles, "ha") {
			t.Errorf("%s should be in the ha profile", name)
		}
		hcfg := bridgeConfig(t, name, s)
		if !hcfg.HA.Enabled || hcfg.Instance == "" || hcfg.CTI.InstanceID == "" {
			t.Errorf("%s: HA %v, instance %q, instanceId %q: want HA on with its own names", name, hcfg.HA.Enabled, hcfg.Instance, hcfg.CTI.InstanceID)
		}
		if instances[hcfg.Instance] || instances[hcfg.CTI.InstanceID] {
			t.Errorf("%s shares its instance or instanceId with the other member (a hot pair needs its own)", name)
		}
		instances[hcfg.Instance], instances[hcfg.CTI.InstanceID] = true, true
	}
	// The replay tool talks to the nats service.
	if flagValue(c.Services["replay"].Command, "--server") != "nats://nats:4222" {
		t.Error("replay does not point at nats://nats:4222")
	}
}

// TestComposeOneBridgePerSimulator: the services a profile starts never
// put two bridges on one simulated cluster (two providers of one
// application user, and a CTIManager killed for one stack's failover
// drill would fail over the other too).
func TestComposeOneBridgePerSimulator(t *testing.T) {
	c := load(t)
	for _, profiles := range [][]string{nil, {"cluster"}} {
		bySim := map[string]string{}
		for _, name := range bridgeServices(c) {
			s := c.Services[name]
			if len(s.Profiles) > 0 && !slices.ContainsFunc(s.Profiles, func(p string) bool { return slices.Contains(profiles, p) }) {
				continue
			}
			sim := simulatorOf(t, c, name, bridgeConfig(t, name, s))
			if sim == "" {
				continue
			}
			if other, ok := bySim[sim]; ok {
				t.Errorf("profiles %v start two bridges, %s and %s, on the simulator %s", profiles, other, name, sim)
			}
			bySim[sim] = name
		}
	}
}

// TestComposeServicesRestartAndStopInOrder: a long-running service comes
// back after a crash or a host reboot (restart policy), and a bridge gets
// the time its orderly stop needs (docs/operations.md, "Stopping": close
// the provider, flush JetStream for up to 10 s) before Docker kills it.
func TestComposeServicesRestartAndStopInOrder(t *testing.T) {
	c := load(t)
	for name, s := range c.Services {
		if slices.Contains(s.Profiles, "tools") {
			if s.Restart != "" {
				t.Errorf("%s is a one-shot tool and should not restart (restart: %s)", name, s.Restart)
			}
			continue
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q: want unless-stopped", name, s.Restart)
		}
	}
	for _, name := range bridgeServices(c) {
		d, err := time.ParseDuration(c.Services[name].StopGracePeriod)
		if err != nil || d < 20*time.Second {
			t.Errorf("%s: stop_grace_period %q: want at least 20s", name, c.Services[name].StopGracePeriod)
		}
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

const gatewayImage = "ctibridge-jtapi-gateway:local"

// gatewayKeys reads the JTAPI gateway's configuration keys from its source
// (GatewayConfig.KEYS, declared with key("name", …)).
func gatewayKeys(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "gateway/jtapi/src/main/java/org/ctibridge/gateway/GatewayConfig.java"))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`key\("([a-zA-Z.]+)"`).FindAllStringSubmatch(string(src), -1) {
		keys[m[1]] = true
	}
	if len(keys) < 10 {
		t.Fatalf("found only %d gateway keys in GatewayConfig.java", len(keys))
	}
	return keys
}

// gatewayEnvName is GatewayConfig.envName: cti.manager → CTIBRIDGE_GW_CTI_MANAGER.
func gatewayEnvName(key string) string {
	k := regexp.MustCompile(`([a-z])([A-Z])`).ReplaceAllString(key, "${1}_${2}")
	return "CTIBRIDGE_GW_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
}

// TestComposeCUCMProfile checks the profile that runs the bridge against a
// real CUCM through one JTAPI gateway per CTIManager: the gateways use only
// real configuration keys, mount the user's Cisco jar (the image never
// contains it), and the bridge's CTIManagers are those gateways.
func TestComposeCUCMProfile(t *testing.T) {
	c := load(t)
	keys := gatewayKeys(t)
	envToKey := map[string]string{}
	for k := range keys {
		envToKey[gatewayEnvName(k)] = k
	}
	names := map[string]string{} // gateway service → name it gives the bridge
	for _, n := range []string{"gateway-a", "gateway-b"} {
		g, ok := c.Services[n]
		if !ok {
			t.Fatalf("service %s missing", n)
		}
		if !slices.Contains(g.Profiles, "cucm") {
			t.Errorf("%s should be in the cucm profile", n)
		}
		if g.Image != gatewayImage {
			t.Errorf("%s: image %q, want %s", n, g.Image, gatewayImage)
		}
		for env := range g.Environment {
			if _, ok := envToKey[env]; !ok {
				t.Errorf("%s sets %s, which is no gateway configuration key", n, env)
			}
		}
		if !strings.Contains(g.Environment["CTIBRIDGE_GW_CTI_MANAGER"], "${CUCM_CTIMANAGER_") {
			t.Errorf("%s: the CTIManager should come from the environment (CUCM_CTIMANAGER_*)", n)
		}
		names[n] = g.Environment["CTIBRIDGE_GW_NAME"]
		if !slices.ContainsFunc(g.Volumes, func(v string) bool {
			return strings.HasPrefix(v, "${CUCM_JTAPI_DIR") && strings.HasSuffix(v, ":/opt/jtapi:ro")
		}) {
			t.Errorf("%s does not mount the user's jar directory read-only at /opt/jtapi: %v", n, g.Volumes)
		}
		if len(g.Healthcheck.Test) == 0 || !strings.Contains(strings.Join(g.Healthcheck.Test, " "), "2748") {
			t.Errorf("%s: healthcheck %v does not probe the link port 2748", n, g.Healthcheck.Test)
		}
	}
	df, err := os.ReadFile(filepath.Join(root, "gateway/jtapi/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(df), "\n") {
		l := strings.TrimSpace(line)
		if (strings.HasPrefix(l, "COPY") || strings.HasPrefix(l, "ADD")) && strings.Contains(l, ".jar") &&
			!strings.Contains(l, "ctibridge-jtapi-gateway.jar") {
			t.Errorf("gateway Dockerfile copies a jar into the image: %s (Cisco's jar must be mounted)", l)
		}
	}
	if !strings.Contains(string(df), "--mount=type=bind,from=jtapi") || !strings.Contains(string(df), "/opt/jtapi/*") {
		t.Error("gateway Dockerfile: compile against the jtapi build context (bind mount) and load /opt/jtapi/* at run time")
	}

	b, ok := c.Services["bridge-cucm"]
	if !ok {
		t.Fatal("service bridge-cucm missing")
	}
	if !slices.Contains(b.Profiles, "cucm") {
		t.Error("bridge-cucm should be in the cucm profile")
	}
	cfgPath := ""
	for _, v := range b.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && slices.Contains(b.Command, parts[1]) {
			cfgPath = parts[0]
		}
	}
	cfg, err := config.Load(filepath.Join(root, cfgPath))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CTIBRIDGE_CTI_PASSWORD": "set-by-the-user"}
	for k, v := range b.Environment {
		if k != "CTIBRIDGE_CTI_PASSWORD" {
			env[k] = regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`).ReplaceAllString(v, "$1")
		}
	}
	if err := config.ApplyEnv(&cfg, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("bridge-cucm's configuration is invalid: %v", err)
	}
	var got []string
	for _, m := range cfg.CTI.CTIManagers {
		host, port := splitHostPort(t, m.Address)
		if _, ok := names[host]; !ok {
			t.Errorf("bridge-cucm CTIManager %s at %s: not a gateway service", m.Name, m.Address)
		}
		if port != 2748 {
			t.Errorf("bridge-cucm CTIManager %s: port %d, the gateways listen on 2748", m.Name, port)
		}
		if names[host] != m.Name {
			t.Errorf("bridge-cucm calls %s %q, the gateway names itself %q", m.Address, m.Name, names[host])
		}
		got = append(got, host)
	}
	if !slices.Equal(got, []string{"gateway-a", "gateway-b"}) {
		t.Errorf("bridge-cucm CTIManagers %v, want gateway-a then gateway-b", got)
	}
	_, httpPort := splitHostPort(t, cfg.HTTP.Listen)
	checkHealthPort(t, "bridge-cucm", b, httpPort)
	for _, dep := range []string{"nats", "gateway-a", "gateway-b"} {
		if b.DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("bridge-cucm should wait for %s to be healthy", dep)
		}
	}
}
