package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func readDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerfileArg is the default of a build argument declared before the
// first FROM.
func dockerfileArg(df, name string) string {
	m := regexp.MustCompile(`(?m)^ARG ` + name + `=(\S+)`).FindStringSubmatch(df)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDockerfileBaseImagesAreArguments: the base images are build
// arguments (so that a registry-less host can substitute local images)
// whose defaults stay the public images users pull.
func TestDockerfileBaseImagesAreArguments(t *testing.T) {
	df := readDockerfile(t)
	gomod, _ := os.ReadFile(filepath.Join(root, "go.mod"))
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	if goVer == nil || !strings.HasPrefix(dockerfileArg(df, "GO_IMAGE"), "golang:"+goVer[1]) {
		t.Errorf("GO_IMAGE default %q is not the go.mod Go version %v", dockerfileArg(df, "GO_IMAGE"), goVer)
	}
	if got := dockerfileArg(df, "RUNTIME_IMAGE"); !strings.HasPrefix(got, "gcr.io/distroless/static") || !strings.HasSuffix(got, ":nonroot") {
		t.Errorf("RUNTIME_IMAGE default %q: want distroless static, nonroot", got)
	}
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	stages := map[string]bool{"scratch": true}
	for _, m := range regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)`).FindAllStringSubmatch(df, -1) {
		stages[m[1]] = true
	}
	for _, f := range froms {
		if !strings.HasPrefix(f[1], "${") && !stages[f[1]] {
			t.Errorf("FROM %s: a base image that is not a build argument", f[1])
		}
	}
	// --target prebuilt must not need the Go image, even with the classic
	// builder (which builds every stage up to the target).
	pre := strings.Index(df, " AS prebuilt")
	build := strings.Index(df, "FROM ${GO_IMAGE}")
	if pre < 0 || build < 0 || pre > build {
		t.Error("the prebuilt stage must come before the Go build stage")
	}
}

// TestDockerfileBuildsTheCommands: the build stage compiles the three
// commands statically, with the version injected into the variable the
// binaries report, and both paths install them into /usr/local/bin.
func TestDockerfileBuildsTheCommands(t *testing.T) {
	df := readDockerfile(t)
	for _, c := range []string{"bridge", "replay", "ctisim"} {
		if !strings.Contains(df, "./cmd/"+c) {
			t.Errorf("Dockerfile does not build ./cmd/%s", c)
		}
		if _, err := os.Stat(filepath.Join(root, "cmd", c)); err != nil {
			t.Errorf("cmd/%s missing", c)
		}
		if !strings.Contains(df, "/out/"+c) {
			t.Errorf("Dockerfile does not copy %s out of the build stage", c)
		}
	}
	if !strings.Contains(df, "/usr/local/bin/") {
		t.Error("Dockerfile does not install into /usr/local/bin")
	}
	if !regexp.MustCompile(`(?m)^COPY go\.mo\[d\] bridge\* replay\* ctisim\* /usr/local/bin/$`).MatchString(df) {
		t.Error("the prebuilt stage does not install the three binaries (or fails in the repository's context)")
	}
	if !strings.Contains(df, "CGO_ENABLED=0") {
		t.Error("binaries must be static for the distroless image")
	}
	if !regexp.MustCompile(`(?m)^USER nonroot`).MatchString(df) {
		t.Error("the final image should not run as root")
	}
}

// TestImageVersionIsInjected: the image reports the version it was built
// with (the finding: every image said "bridge dev"). The -X flag is taken
// from the Dockerfile, so a renamed variable fails here, not in a user's
// image.
func TestImageVersionIsInjected(t *testing.T) {
	df := readDockerfile(t)
	m := regexp.MustCompile(`-X (\S+)=\$\{VERSION\}`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("the build stage does not inject ${VERSION} with -ldflags -X")
	}
	if !regexp.MustCompile(`(?m)^ARG VERSION`).MatchString(df) {
		t.Error("Dockerfile declares no VERSION build argument")
	}
	c := load(t)
	args := c.Services["bridge"].Build.Args
	if !strings.Contains(args["VERSION"], "CTIBRIDGE_VERSION") {
		t.Errorf("compose passes VERSION=%q: want it from $CTIBRIDGE_VERSION", args["VERSION"])
	}
	exe := filepath.Join(t.TempDir(), "bridge")
	build := exec.Command("go", "build", "-ldflags", "-X "+m[1]+"=v9.8.7-test", "-o", exe, "./cmd/bridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(exe, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("bridge version: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "bridge v9.8.7-test" {
		t.Errorf("bridge version = %q after -X %s=v9.8.7-test", out, m[1])
	}
}

// TestImageExposesOnlyTheBridgePorts: the image's default command is the
// bridge, which listens on its ops port only; the simulator's CTI ports
// belong to the ctisim service.
func TestImageExposesOnlyTheBridgePorts(t *testing.T) {
	df := readDockerfile(t)
	var exposed []string
	for _, m := range regexp.MustCompile(`(?m)^EXPOSE (.+)$`).FindAllStringSubmatch(df, -1) {
		exposed = append(exposed, strings.Fields(m[1])...)
	}
	if !slices.Equal(exposed, []string{"8080"}) {
		t.Errorf("EXPOSE %v: want only the ops port 8080", exposed)
	}
}

// TestDockerignoreKeepsTheContextToSources applies .dockerignore with
// Docker's own matcher: the stores, binaries and .git stay out, and every
// source file the three commands compile from goes in.
func TestDockerignoreKeepsTheContextToSources(t *testing.T) {
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(p string) bool {
		ex, err := pm.MatchesOrParentMatches(p)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	for _, p := range []string{".git/HEAD", "data/demo/jetstream/x", "data/x", "bin/bridge", "bridge", "docs/operations.md",
		"pkg/ctilink/testdata/fuzz/FuzzDecode/x", "pkg/ctilink/frame_test.go", "x.test"} {
		if !excluded(p) {
			t.Errorf("%s goes into the build context", p)
		}
	}
	list := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{"\n"}}{{range .GoFiles}}{{.}} {{end}}{{"\n"}}{{end}}`,
		"./cmd/bridge", "./cmd/replay", "./cmd/ctisim")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, _ := filepath.Abs(root)
	needed := []string{"go.mod", "go.sum"}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		rel, err := filepath.Rel(abs, lines[i])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a dependency from the module cache
		}
		for _, f := range strings.Fields(lines[i+1]) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(needed) < 20 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, p := range needed {
		if excluded(p) {
			t.Errorf("%s is needed by the build and excluded by .dockerignore", p)
		}
	}
}
