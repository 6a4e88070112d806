package gatewaye2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// RequireJavaEnv names the environment variable that turns a missing Java
// toolchain from a skip into a failure (.ci/run sets it to 1).
const RequireJavaEnv = "CTIBRIDGE_REQUIRE_JAVA"

// Toolchain is what building and running the gateway needs.
type Toolchain struct {
	// Root is the repository root.
	Root string
	// Jar is Cisco's JTAPI jar the gateway is built and run against.
	Jar string
	// JUnitAPI is JUnit 5's API jar (the double is built with the tests).
	JUnitAPI string
}

// FindToolchain looks for java and javac on PATH, Cisco's jar (jarName,
// e.g. "jtapi-15.jar") in $JTAPI_JAR_DIR or ../shared/vendor/cisco-jtapi
// next to the repository root, and JUnit 5 (Debian's junit5). The error
// names everything missing and how to get it.
func FindToolchain(root, jarName string) (Toolchain, error) {
	tc := Toolchain{Root: root}
	var missing []string
	for _, tool := range []string{"java", "javac", "jar"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" (a JDK 17; Debian: apt-get install openjdk-17-jdk-headless)")
		}
	}
	dir := os.Getenv("JTAPI_JAR_DIR")
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "vendor", "cisco-jtapi")
	}
	tc.Jar = filepath.Join(dir, jarName)
	if _, err := os.Stat(tc.Jar); err != nil {
		missing = append(missing, "Cisco's "+jarName+" in "+dir+" (set JTAPI_JAR_DIR; docs/gateway.md)")
	}
	for _, c := range []string{os.Getenv("JUNIT_API"), "/usr/share/java/junit-jupiter-api.jar"} {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			tc.JUnitAPI = c
			break
		}
	}
	if tc.JUnitAPI == "" {
		missing = append(missing, "JUnit 5 (Debian: apt-get install junit5)")
	}
	if len(missing) > 0 {
		return tc, fmt.Errorf("gatewaye2e: missing %s", strings.Join(missing, "; "))
	}
	return tc, nil
}

// Build runs gateway/jtapi/build.sh against the toolchain's jar into out
// and returns the directory holding the gateway and test jars.
func Build(ctx context.Context, tc Toolchain, out string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(tc.Root, "gateway", "jtapi", "build.sh"), "--jar", tc.Jar, "--out", out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gatewaye2e: building the gateway: %w\n%s", err, b)
	}
	return filepath.Join(out, strings.TrimSuffix(filepath.Base(tc.Jar), ".jar")), nil
}

// ClusterSpec is the double's cluster file for a simulated cluster: the
// same devices and lines, users and CallManagers (numbered from 1 in
// order, as the gateway's callManagers setting maps them back).
func ClusterSpec(c ctisim.ClusterConfig) ([]byte, string, error) {
	type dev struct {
		Name        string   `json:"name"`
		Type        string   `json:"type"`
		CallManager string   `json:"callManager"`
		Lines       []string `json:"lines"`
	}
	spec := struct {
		Devices      []dev             `json:"devices"`
		Users        map[string]string `json:"users"`
		CallManagers map[string]int    `json:"callManagers"`
	}{Users: map[string]string{}, CallManagers: map[string]int{}}
	for _, d := range c.Expand().Devices {
		t := string(d.Type)
		if t == "" {
			t = string(ctilink.DevicePhone)
		}
		spec.Devices = append(spec.Devices, dev{Name: d.Name, Type: t, CallManager: d.CallManager, Lines: d.Lines})
	}
	for _, u := range c.Users {
		spec.Users[u.Login] = u.Password
	}
	var names []string
	for i, cm := range c.CallManagers {
		spec.CallManagers[cm] = i + 1
		names = append(names, fmt.Sprintf("%d=%s", i+1, cm))
	}
	b, err := json.Marshal(spec)
	return b, strings.Join(names, ","), err
}

// Double is a running JVM with gateways on the JTAPI double (the test
// class org.ctibridge.gateway.fake.DoubleMain).
type Double struct {
	// Gateways maps each gateway's CTIManager name to its link address;
	// TLSGateways to its TLS link address (when tls.listen is set).
	Gateways    map[string]string
	TLSGateways map[string]string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	mu     sync.Mutex
	stderr *testwait.Buffer
}

// StartDouble starts one gateway per name on a double of the cluster
// (ClusterSpec), with the gateway configuration keys of settings ("{name}"
// in tls.cert and tls.key stands for each gateway's name).
func StartDouble(ctx context.Context, tc Toolchain, buildDir string, cluster []byte, names []string, settings map[string]string) (*Double, error) {
	f, err := os.CreateTemp("", "gatewaye2e-cluster-*.json")
	if err != nil {
		return nil, fmt.Errorf("gatewaye2e: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(cluster); err != nil {
		f.Close()
		return nil, fmt.Errorf("gatewaye2e: %w", err)
	}
	f.Close()
	cp := strings.Join([]string{filepath.Join(buildDir, "ctibridge-jtapi-gateway-tests.jar"),
		filepath.Join(buildDir, "ctibridge-jtapi-gateway.jar"), tc.Jar}, string(os.PathListSeparator))
	args := []string{"-cp", cp, "org.ctibridge.gateway.fake.DoubleMain", "--cluster", f.Name()}
	for _, n := range names {
		args = append(args, "--gateway", n)
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+settings[k])
	}
	d := &Double{cmd: exec.CommandContext(ctx, "java", args...), stderr: &testwait.Buffer{Limit: 1 << 20}}
	d.cmd.Stderr = d.stderr
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("gatewaye2e: %w", err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("gatewaye2e: %w", err)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("gatewaye2e: starting java: %w", err)
	}
	d.out = bufio.NewScanner(stdout)
	d.out.Buffer(make([]byte, 64<<10), 1<<20)
	var ready struct {
		Gateways map[string]string `json:"gateways"`
		TLS      map[string]string `json:"tls"`
	}
	if err := d.read(&ready); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("gatewaye2e: the double did not start: %w\n%s", err, d.stderr.String())
	}
	d.Gateways, d.TLSGateways = ready.Gateways, ready.TLS
	return d, nil
}

func (d *Double) read(v any) error {
	if !d.out.Scan() {
		if err := d.out.Err(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	}
	return json.Unmarshal(d.out.Bytes(), v)
}

// Do sends one command to the double and returns its reply; a refused
// command is an error with the double's reason.
func (d *Double) Do(cmd map[string]any) (map[string]any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := d.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("gatewaye2e: double: %w\n%s", err, d.stderr.String())
	}
	var reply map[string]any
	if err := d.read(&reply); err != nil {
		return nil, fmt.Errorf("gatewaye2e: double: %s: %w\n%s", b, err, d.stderr.String())
	}
	if ok, _ := reply["ok"].(bool); !ok {
		return reply, fmt.Errorf("gatewaye2e: double refused %s: %v", b, reply["error"])
	}
	return reply, nil
}

// Stderr is what the double's JVM logged so far (for failure messages).
func (d *Double) Stderr() string { return d.stderr.String() }

// Close stops the gateways and the JVM.
func (d *Double) Close() error {
	if d.stdin != nil {
		_, _ = d.stdin.Write([]byte(`{"op":"quit"}` + "\n"))
		_ = d.stdin.Close()
	}
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil
		}
		return err
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		return <-done
	}
}

// Gateway is a gateway process on Cisco's real jar (org.ctibridge.gateway.Main).
type Gateway struct {
	// Addr is its plain link address.
	Addr   string
	cmd    *exec.Cmd
	stderr *testwait.Buffer
}

// StartGateway runs the gateway built in buildDir on the toolchain's jar,
// with the configuration keys of settings (cti.manager is required; listen
// defaults to 127.0.0.1:0), in workDir (Cisco's library writes jtapi.ini
// into its working directory), and waits until it listens.
func StartGateway(ctx context.Context, tc Toolchain, buildDir, workDir string, settings map[string]string) (*Gateway, error) {
	cp := filepath.Join(buildDir, "ctibridge-jtapi-gateway.jar") + string(os.PathListSeparator) + tc.Jar
	args := []string{"-cp", cp, "org.ctibridge.gateway.Main"}
	if _, ok := settings["listen"]; !ok {
		args = append(args, "listen=127.0.0.1:0")
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+settings[k])
	}
	g := &Gateway{cmd: exec.CommandContext(ctx, "java", args...), stderr: &testwait.Buffer{Limit: 1 << 20}}
	g.cmd.Dir = workDir
	pr, pw := io.Pipe()
	g.cmd.Stderr = io.MultiWriter(g.stderr, pw)
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("gatewaye2e: starting the gateway: %w", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var l struct {
				Message string `json:"message"`
				Port    int    `json:"port"`
			}
			if !sent && json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "gateway listening" {
				found <- fmt.Sprintf("127.0.0.1:%d", l.Port)
				sent = true
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		exited <- g.cmd.Wait()
		pw.Close()
	}()
	select {
	case g.Addr = <-found:
		go func() { <-exited }()
		return g, nil
	case err := <-exited:
		return nil, fmt.Errorf("gatewaye2e: the gateway exited: %v\n%s", err, g.stderr.String())
	case <-time.After(2 * time.Minute):
		_ = g.cmd.Process.Kill()
		return nil, fmt.Errorf("gatewaye2e: the gateway did not listen within 2 minutes\n%s", g.stderr.String())
	}
}

// Log is what the gateway logged so far.
func (g *Gateway) Log() string { return g.stderr.String() }

// Stop ends the gateway (SIGKILL: tests only).
func (g *Gateway) Stop() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}
