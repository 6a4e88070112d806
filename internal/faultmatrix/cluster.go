package faultmatrix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// natsCluster is a cluster of embedded nats-servers with JetStream on
// loopback ports (RigConfig.NATSCluster): the rig's streams and buckets
// are then replicated (R3), and a fault can move a stream's leader.
type natsCluster struct {
	servers []*server.Server
	urls    []string
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startNATSCluster starts n servers with their stores under dir. The
// ports are picked free just before, so another process can take one
// meanwhile: a start that fails is tried again with new ports.
func startNATSCluster(dir string, n int) (*natsCluster, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *natsCluster
		if c, err = startNATSClusterOnce(filepath.Join(dir, fmt.Sprintf("try%d", attempt)), n); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func startNATSClusterOnce(dir string, n int) (*natsCluster, error) {
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := 0; i < n; i++ {
		var err error
		if clientPorts[i], err = freePort(); err != nil {
			return nil, err
		}
		if routePorts[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &natsCluster{}
	for i := 0; i < n; i++ {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: clientPorts[i],
			JetStream: true, StoreDir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), NoSigs: true,
			Cluster: server.ClusterOpts{Name: "faultmatrix", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			c.shutdown()
			return nil, fmt.Errorf("faultmatrix: cluster server %d: %w", i+1, err)
		}
		srv.Start()
		c.servers = append(c.servers, srv)
		c.urls = append(c.urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	for _, s := range c.servers {
		if !s.ReadyForConnections(20 * time.Second) {
			c.shutdown()
			return nil, errors.New("faultmatrix: a cluster server did not become ready")
		}
	}
	return c, nil
}

// connect opens a client connection to the cluster (every server listed).
func (c *natsCluster) connect(name string) (*nats.Conn, error) {
	return nats.Connect(strings.Join(c.urls, ","), nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
}

// waitJetStream waits until the cluster has a JetStream meta leader (a
// stream can be created).
func (c *natsCluster) waitJetStream(nc *nats.Conn) error {
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("faultmatrix: the cluster's JetStream never answered: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *natsCluster) shutdown() {
	for _, s := range c.servers {
		s.Shutdown()
	}
	for _, s := range c.servers {
		s.WaitForShutdown()
	}
}

// StepDownLeader makes the leader of stream (an event stream, or a KV
// bucket's KV_<bucket>) give up its leadership: another replica is
// elected. Only on a rig with a NATS cluster.
func (r *Rig) StepDownLeader(ctx context.Context, stream string) error {
	if r.natsCluster == nil {
		return errors.New("faultmatrix: StepDownLeader needs RigConfig.NATSCluster")
	}
	m, err := r.Conn.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil)
	if err != nil {
		return fmt.Errorf("faultmatrix: step down the leader of %s: %w", stream, err)
	}
	if strings.Contains(string(m.Data), `"error"`) {
		return fmt.Errorf("faultmatrix: step down the leader of %s: %s", stream, m.Data)
	}
	return nil
}

// StreamLeader names the server leading stream ("" if unknown).
func (r *Rig) StreamLeader(ctx context.Context, stream string) string {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		return ""
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}
