package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// natsModuleMinor is the nats-server minor version go.mod embeds ("2.15").
func natsModuleMinor(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/nats-io/nats-server/v2 v(\d+\.\d+)\.\d+`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod does not require github.com/nats-io/nats-server/v2")
	}
	return string(m[1])
}

// The compose NATS servers run the nats-server minor version the bridge
// embeds (bridge demo, bridge run's embedded server, the test rigs): the
// behaviour the tests measured is the behaviour compose runs.
func TestComposeNATSImageMatchesEmbeddedServer(t *testing.T) {
	want := natsModuleMinor(t)
	c := load(t)
	n := 0
	for name, s := range c.Services {
		tag, ok := strings.CutPrefix(s.Image, "nats:")
		if !ok {
			continue
		}
		n++
		if !strings.HasPrefix(tag, want+"-") && tag != want {
			t.Errorf("%s runs nats:%s; go.mod embeds nats-server %s: use nats:%s-alpine", name, tag, want, want)
		}
	}
	if n == 0 {
		t.Fatal("no nats image in docker-compose.yml")
	}
}

// The compose cluster profile runs what `bridge demo --nats-cluster 3` and
// the cluster tests run in one process: cluster and server names of
// jetstream.EmbeddedCluster, every write fsynced (sync_interval: always,
// read with nats-server's own parser), R3 streams provisioned by the
// bridge.
func TestComposeClusterProfileMatchesEmbeddedCluster(t *testing.T) {
	c := load(t)
	for i := range jetstream.DefaultClusterNodes {
		name := jetstream.NodeName(i)
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("service %s missing: the cluster profile has the embedded cluster's %d nodes", name, jetstream.DefaultClusterNodes)
		}
		if got := flagValue(s.Command, "--server_name"); got != name {
			t.Errorf("%s: --server_name %q, want %q (Raft knows peers by server name; replay opens copied stores under these names)", name, got, name)
		}
		if got := flagValue(s.Command, "--cluster_name"); got != jetstream.DefaultClusterName {
			t.Errorf("%s: --cluster_name %q, want %q", name, got, jetstream.DefaultClusterName)
		}
		conf := flagValue(s.Command, "--config")
		var src string
		for _, v := range s.Volumes {
			if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == conf {
				src = parts[0]
			}
		}
		if conf == "" || src == "" {
			t.Fatalf("%s: no --config file mounted from the repository", name)
		}
		opts, err := server.ProcessConfigFile(filepath.Join(root, src))
		if err != nil {
			t.Fatalf("%s: %s: %v", name, src, err)
		}
		if !opts.SyncAlways {
			t.Errorf("%s: %s does not set sync_interval: always (acknowledged events would not survive a power loss)", name, src)
		}
	}
	env := c.Services["bridge-cluster"].Environment
	if got := env["CTIBRIDGE_NATS_REPLICAS"]; got != strconv.Itoa(jetstream.DefaultClusterNodes) {
		t.Errorf("bridge-cluster: CTIBRIDGE_NATS_REPLICAS %q, want %d", got, jetstream.DefaultClusterNodes)
	}
	var urls []string
	for i := range jetstream.DefaultClusterNodes {
		urls = append(urls, fmt.Sprintf("nats://%s:4222", jetstream.NodeName(i)))
	}
	if got := env["CTIBRIDGE_NATS_URL"]; got != strings.Join(urls, ",") {
		t.Errorf("bridge-cluster: CTIBRIDGE_NATS_URL %q, want every node: %s", got, strings.Join(urls, ","))
	}
}
