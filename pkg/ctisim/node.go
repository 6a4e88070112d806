package ctisim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// node is one CTIManager: a plain and a TLS listener plus fault flags.
type node struct {
	srv *Server
	cfg NodeConfig
	log zerolog.Logger

	stalled atomic.Bool
	delay   atomic.Int64 // slow-link delay in nanoseconds

	mu      sync.Mutex // guards the following fields
	ln      net.Listener
	tlsLn   net.Listener
	addr    string // bound plain address, kept across kill/restore
	tlsAddr string
	up      bool
	cert    *tls.Certificate // current server certificate (TLS)
}

func (n *node) info() NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return NodeInfo{
		Name: n.cfg.Name, Addr: n.addr, TLSAddr: n.tlsAddr, LeastPriority: n.cfg.LeastPriority,
		Up: n.up, Stalled: n.stalled.Load(), SlowLinkMs: time.Duration(n.delay.Load()).Milliseconds(),
	}
}

// listen binds the node's listeners: the configured ports the first time,
// the same (possibly ephemeral) ports again after a kill.
func (n *node) listen() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.up {
		return nil
	}
	plain := n.addr
	if plain == "" {
		plain = net.JoinHostPort(n.cfg.host(), strconv.Itoa(n.cfg.Port))
	}
	ln, err := net.Listen("tcp", plain)
	if err != nil {
		return fmt.Errorf("ctisim: node %s: listening on %s: %w", n.cfg.Name, plain, err)
	}
	var tlsLn net.Listener
	if pki := n.srv.cfg.PKI; pki != nil {
		if n.cert == nil {
			cert, err := pki.IssueServer(n.cfg.Name)
			if err != nil {
				ln.Close()
				return fmt.Errorf("ctisim: node %s: %w", n.cfg.Name, err)
			}
			n.cert = &cert
		}
		addr := n.tlsAddr
		if addr == "" {
			addr = net.JoinHostPort(n.cfg.host(), strconv.Itoa(n.cfg.TLSPort))
		}
		tlsLn, err = net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("ctisim: node %s: listening for TLS on %s: %w", n.cfg.Name, addr, err)
		}
		n.tlsAddr = tlsLn.Addr().String()
	}
	n.ln, n.tlsLn, n.up = ln, tlsLn, true
	n.addr = ln.Addr().String()
	n.srv.wg.Add(1)
	go n.accept(ln, false)
	if tlsLn != nil {
		n.srv.wg.Add(1)
		go n.accept(tlsLn, true)
	}
	n.log.Info().Str("addr", n.addr).Str("tls_addr", n.tlsAddr).Msg("CTIManager listening")
	return nil
}

func (n *node) closeListeners() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		_ = n.ln.Close()
	}
	if n.tlsLn != nil {
		_ = n.tlsLn.Close()
	}
	n.ln, n.tlsLn, n.up = nil, nil, false
}

func (n *node) serverTLSConfig() *tls.Config {
	pki := n.srv.cfg.PKI
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pki.Pool(),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.cert, nil
		},
	}
}

func (n *node) accept(ln net.Listener, isTLS bool) {
	defer n.srv.wg.Done()
	var tlsCfg *tls.Config
	if isTLS {
		tlsCfg = n.serverTLSConfig()
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			n.log.Warn().Err(err).Msg("accept failed")
			return
		}
		n.srv.startSession(n, nc, tlsCfg)
	}
}
