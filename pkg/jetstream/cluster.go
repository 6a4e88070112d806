package jetstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/testwait"
)

// Embedded cluster defaults.
const (
	DefaultClusterName  = "ctibridge"
	DefaultClusterNodes = 3
	// globalAccount is the account clients use without authentication.
	globalAccount = "$G"
	// routePortMin..routePortMax is where route ports are picked: below
	// Linux's ephemeral range (32768–60999), so that a port kept across a
	// node's restart is not taken meanwhile by an outgoing connection.
	routePortMin, routePortMax = 22000, 32000
)

// EmbeddedClusterConfig configures an in-process JetStream cluster: N
// nats-servers in one process, each with its own store directory and
// client port, joined by routes on loopback. It is the test and demo
// stand-in for a production cluster (the compose `cluster` profile runs
// the same settings in three containers).
type EmbeddedClusterConfig struct {
	// DataDir holds one store directory per node (DataDir/<node name>).
	// Required.
	DataDir string
	// Nodes is the number of servers; default 3 (the smallest cluster
	// that survives the loss of one node).
	Nodes int
	// Name is the cluster's name; default "ctibridge". Nodes are named
	// nats-1, nats-2, ... (as in docker-compose.yml).
	Name string
	// Host is the address every node listens on, for clients and routes;
	// default 127.0.0.1.
	Host string
	// ClientPort, if set, is the first node's client port, the next nodes
	// taking the following ports (4222: 4222, 4223, 4224). 0 picks free
	// ports at the first start; they are kept across restarts.
	ClientPort int
	// SyncAlways makes every node fsync each write before acknowledging
	// it (EmbeddedConfig.SyncAlways).
	SyncAlways bool
	// JetStreamMaxStore and JetStreamMaxMemory cap each node (0: the
	// server's share of disk and RAM).
	JetStreamMaxStore, JetStreamMaxMemory int64
	// Logger receives every node's logs (field "node"); default none.
	Logger zerolog.Logger
}

func (c *EmbeddedClusterConfig) setDefaults() {
	if c.Nodes == 0 {
		c.Nodes = DefaultClusterNodes
	}
	if c.Name == "" {
		c.Name = DefaultClusterName
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
}

// Validate reports every problem with the configuration (after defaults).
func (c *EmbeddedClusterConfig) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("jetstream: EmbeddedClusterConfig.DataDir is required"))
	}
	if c.Nodes < 2 || c.Nodes > 9 {
		errs = append(errs, fmt.Errorf("jetstream: EmbeddedClusterConfig.Nodes %d: use 3 (or 2..9)", c.Nodes))
	}
	if c.ClientPort < 0 || c.ClientPort+c.Nodes > 65536 {
		errs = append(errs, fmt.Errorf("jetstream: EmbeddedClusterConfig.ClientPort %d: use 0 (free ports) or a port with %d free after it", c.ClientPort, c.Nodes-1))
	}
	if strings.ContainsAny(c.Name, " \t.*>") {
		errs = append(errs, fmt.Errorf("jetstream: cluster name %q: no spaces, '.', '*' or '>'", c.Name))
	}
	return errors.Join(errs...)
}

// EmbeddedCluster is a JetStream cluster of embedded servers. Nodes can be
// stopped and started again on their stores and ports, one at a time or
// several, which is how the cluster tests kill leaders, lose quorum and
// roll restarts.
type EmbeddedCluster struct {
	cfg   EmbeddedClusterConfig
	nodes []*Embedded
	names []string
}

// NewEmbeddedCluster validates cfg and prepares the nodes (route ports
// picked); it starts nothing: call Start.
func NewEmbeddedCluster(cfg EmbeddedClusterConfig) (*EmbeddedCluster, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &EmbeddedCluster{cfg: cfg}
	for i := range cfg.Nodes {
		c.names = append(c.names, NodeName(i))
	}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	return c, nil
}

// prepare builds the nodes on freshly picked route ports.
func (c *EmbeddedCluster) prepare() error {
	ports, err := pickRoutePorts(c.cfg.Host, c.cfg.Nodes)
	if err != nil {
		return err
	}
	routes := make([]string, len(ports))
	for i, p := range ports {
		routes[i] = "nats-route://" + net.JoinHostPort(c.cfg.Host, strconv.Itoa(p))
	}
	c.nodes = c.nodes[:0]
	for i, name := range c.names {
		client := 0
		if c.cfg.ClientPort > 0 {
			client = c.cfg.ClientPort + i
		}
		e, err := NewEmbedded(EmbeddedConfig{
			DataDir:            filepath.Join(c.cfg.DataDir, name),
			Listen:             net.JoinHostPort(c.cfg.Host, strconv.Itoa(client)),
			ServerName:         name,
			SyncAlways:         c.cfg.SyncAlways,
			JetStreamMaxStore:  c.cfg.JetStreamMaxStore,
			JetStreamMaxMemory: c.cfg.JetStreamMaxMemory,
			Cluster:            &ClusterNodeConfig{Name: c.cfg.Name, Host: c.cfg.Host, Port: ports[i], Routes: routes},
			Logger:             c.cfg.Logger.With().Str("node", name).Logger(),
		})
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, e)
	}
	return nil
}

// pickRoutePorts returns n distinct ports below the ephemeral range that
// were free a moment ago.
func pickRoutePorts(host string, n int) ([]int, error) {
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("jetstream: no free route ports in %d..%d on %s", routePortMin, routePortMax, host)
		}
		p := routePortMin + rand.IntN(routePortMax-routePortMin)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out, nil
}

// Start starts every node and waits until the cluster has formed (a meta
// leader that sees every node, see Formed). A
// route port taken since it was picked is picked again (first start
// only).
func (c *EmbeddedCluster) Start() error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.startAll(); err == nil {
			break
		}
		c.shutdownAll()
		if !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		if perr := c.prepare(); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if !testwait.Poll(clusterFormTimeout, c.Formed) {
		return fmt.Errorf("jetstream: cluster %s: not formed within %s (meta leader %d; every node must be online with JetStream)",
			c.cfg.Name, clusterFormTimeout, c.MetaLeader())
	}
	return nil
}

// clusterFormTimeout bounds Start's wait for the cluster to form.
const clusterFormTimeout = 30 * time.Second

// Formed reports whether the JetStream meta leader sees every node online
// with JetStream: placing an R<n> stream needs them all ("no suitable
// peers for placement" before).
func (c *EmbeddedCluster) Formed() bool {
	l := c.MetaLeader()
	if l < 0 {
		return false
	}
	s := c.nodes[l].Server()
	return s != nil && len(s.JetStreamClusterPeers()) == len(c.nodes)
}

func (c *EmbeddedCluster) startAll() error {
	for i := range c.nodes {
		if err := c.StartNode(i); err != nil {
			return err
		}
	}
	return nil
}

func (c *EmbeddedCluster) shutdownAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.Shutdown(ctx)
}

// NodeName is the server name of node i (0-based) of an embedded cluster:
// nats-<i+1>, as in docker-compose.yml. A store copied from a cluster must
// keep these names: Raft knows its peers by server name.
func NodeName(i int) string { return fmt.Sprintf("nats-%d", i+1) }

// Size is the number of nodes.
func (c *EmbeddedCluster) Size() int { return len(c.nodes) }

// Node returns node i (0-based).
func (c *EmbeddedCluster) Node(i int) *Embedded { return c.nodes[i] }

// Name is node i's server name (nats-<i+1>).
func (c *EmbeddedCluster) Name(i int) string { return c.names[i] }

// Index returns the index of the node named name, or -1.
func (c *EmbeddedCluster) Index(name string) int {
	for i, n := range c.names {
		if n == name {
			return i
		}
	}
	return -1
}

// StartNode starts node i (again, after StopNode) on its store and ports.
func (c *EmbeddedCluster) StartNode(i int) error {
	if err := c.nodes[i].Start(); err != nil {
		return fmt.Errorf("jetstream: cluster node %s: %w", c.names[i], err)
	}
	return nil
}

// StopNode stops node i: its clients are disconnected and move to another
// node, its Raft groups lose a member. Like nats-server's own cluster
// tests, it shuts the server down (in-process servers cannot be killed
// more abruptly); the server first hands the leadership of the groups it
// leads to a current follower if it can, so a stopped leader costs a
// quick election rather than an election timeout.
func (c *EmbeddedCluster) StopNode(ctx context.Context, i int) error {
	if err := c.nodes[i].Shutdown(ctx); err != nil {
		return fmt.Errorf("jetstream: cluster node %s: %w", c.names[i], err)
	}
	return nil
}

// Running reports whether node i runs.
func (c *EmbeddedCluster) Running(i int) bool { return c.nodes[i].Running() }

// ClientURLs lists every node's client URL (the seed list for clients).
func (c *EmbeddedCluster) ClientURLs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.ClientURL()
	}
	return out
}

// MetaLeader returns the index of the JetStream meta leader, or -1.
func (c *EmbeddedCluster) MetaLeader() int {
	for i, n := range c.nodes {
		if s := n.Server(); s != nil && s.Running() && s.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// StreamLeader returns the index of the node leading stream's Raft group,
// or -1 (no leader, or not a replicated stream).
func (c *EmbeddedCluster) StreamLeader(stream string) int {
	for i, n := range c.nodes {
		if s := n.Server(); s != nil && s.Running() && s.JetStreamIsStreamLeader(globalAccount, stream) {
			return i
		}
	}
	return -1
}

// StepDown asks the leader of stream (an event stream, or a KV bucket's
// KV_<bucket>) to give up its leadership, through the JetStream API: another
// replica is elected. Tests and demos use it to move a leader without
// stopping a node.
func (c *EmbeddedCluster) StepDown(ctx context.Context, stream string) error {
	nc, err := c.Connect(c.cfg.Name + " step-down")
	if err != nil {
		return err
	}
	defer nc.Close()
	return StepDownStreamLeader(ctx, nc, stream)
}

// Connect opens a client connection seeded with every node's URL, over
// TCP, that reconnects forever (a node stopped: it moves to another).
func (c *EmbeddedCluster) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
	}, opts...)
	nc, err := nats.Connect(strings.Join(c.ClientURLs(), ","), all...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect to cluster %s: %w", c.cfg.Name, err)
	}
	return nc, nil
}

// Shutdown stops every running node.
func (c *EmbeddedCluster) Shutdown(ctx context.Context) error {
	var errs []error
	for i := range c.nodes {
		if err := c.StopNode(ctx, i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
