package demo

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// natsNodeDownFor is how long --kill-nats-leader-after keeps the killed
// node down before starting it again (as an orchestrator would).
const natsNodeDownFor = 5 * time.Second

// demoNATS is the demo's NATS: one embedded server, or an embedded
// cluster.
type demoNATS struct {
	single  *jetstream.Embedded
	cluster *jetstream.EmbeddedCluster
	log     zerolog.Logger
	listen  string
	// faults runs the kill-and-restart of --kill-nats-leader-after.
	faults sync.WaitGroup
}

func startNATS(o Options, dataDir string, log zerolog.Logger) (*demoNATS, error) {
	n := &demoNATS{log: log, listen: o.NATSListen}
	nlog := log.Level(zerolog.WarnLevel)
	if o.NATSCluster > 1 {
		host, port, err := splitHostPort(o.NATSListen)
		if err != nil {
			return nil, err
		}
		c, err := jetstream.NewEmbeddedCluster(jetstream.EmbeddedClusterConfig{DataDir: dataDir, Nodes: o.NATSCluster, Host: host, ClientPort: port,
			SyncAlways: o.NATSSyncAlways, Logger: nlog})
		if err != nil {
			return nil, err
		}
		n.cluster = c
		if err := c.Start(); err != nil {
			return nil, n.hint(err)
		}
		return n, nil
	}
	ns, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: dataDir, Listen: o.NATSListen, SyncAlways: o.NATSSyncAlways, Logger: nlog})
	if err != nil {
		return nil, err
	}
	n.single = ns
	if err := ns.Start(); err != nil {
		return nil, n.hint(err)
	}
	return n, nil
}

func splitHostPort(listen string) (string, int, error) {
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("--nats-listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil {
		return "", 0, fmt.Errorf("--nats-listen %q: bad port", listen)
	}
	return host, port, nil
}

func (n *demoNATS) hint(err error) error {
	if strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "not ready") {
		return fmt.Errorf("%w\n(is another NATS server or demo using %s? pass --nats-listen 127.0.0.1:0 for free ports)", err, n.listen)
	}
	return err
}

// connect opens the bridge's connection: in-process to the single
// server, over TCP to every node of a cluster.
func (n *demoNATS) connect(name string) (*nats.Conn, error) {
	if n.cluster != nil {
		return n.cluster.Connect(name)
	}
	return n.single.Connect(name)
}

// url is what clients connect to (every node's URL on a cluster).
func (n *demoNATS) url() string {
	if n.cluster != nil {
		return strings.Join(n.cluster.ClientURLs(), ",")
	}
	return n.single.ClientURL()
}

func (n *demoNATS) replicas() int {
	if n.cluster != nil {
		return n.cluster.Size()
	}
	return 1
}

// killStreamLeader stops the node leading the event stream and starts it
// again natsNodeDownFor later (unless ctx has ended by then).
func (n *demoNATS) killStreamLeader(ctx context.Context) {
	leader := n.cluster.StreamLeader(jetstream.DefaultStream)
	if leader < 0 {
		n.log.Error().Msg("demo: the event stream has no leader to kill right now")
		return
	}
	name := n.cluster.Name(leader)
	n.log.Warn().Str("node", name).Msg("demo: killing the event stream's NATS leader (--kill-nats-leader-after)")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.cluster.StopNode(sctx, leader); err != nil {
		n.log.Error().Err(err).Msg("demo: kill the NATS leader")
		return
	}
	n.faults.Add(1)
	go func() {
		defer n.faults.Done()
		t := time.NewTimer(natsNodeDownFor)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.log.Warn().Str("node", name).Msg("demo: the killed NATS node is back")
		if err := n.cluster.StartNode(leader); err != nil {
			n.log.Error().Err(err).Msg("demo: restart the NATS node")
		}
	}()
}

// wait waits for a pending restart to finish (or be abandoned).
func (n *demoNATS) wait() { n.faults.Wait() }

func (n *demoNATS) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n.cluster != nil {
		_ = n.cluster.Shutdown(ctx)
		return
	}
	_ = n.single.Shutdown(ctx)
}
