package ctiengine

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// ErrServerTrust means a CTIManager's certificate does not chain to the CA
// pinned in TLSConfig.TrustStore.
var ErrServerTrust = errors.New("ctiengine: server certificate not trusted")

// trustPin is the pinned server trust (the CTL analogue): trust on first
// use, verified on every later connection. Dial goroutines share it.
type trustPin struct {
	path string
	log  zerolog.Logger

	mu    sync.Mutex // guards the following fields
	certs []*x509.Certificate
}

func newTrustPin(path string, log zerolog.Logger) (*trustPin, error) {
	p := &trustPin{path: path, log: log}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("ctiengine: reading TLS.TrustStore %s: %w", path, err)
	}
	certs, err := parsePEMCerts(b)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("ctiengine: TLS.TrustStore %s holds no usable PEM certificate (%v): fix or delete it to pin on next connect", path, err)
	}
	p.certs = certs
	return p, nil
}

func parsePEMCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return certs, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return certs, err
		}
		certs = append(certs, c)
	}
}

// verify checks the chain a CTIManager presented. With nothing pinned yet,
// the top of the chain (its CA when the server sends it, else the server
// certificate itself) is pinned and saved.
func (p *trustPin) verify(node string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: %s presented no certificate", ErrServerTrust, node)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.certs) == 0 {
		top := chain[len(chain)-1]
		if len(chain) > 1 {
			// Even on first use the chain must hang together: the leaf
			// must be issued by the CA about to be pinned.
			roots := x509.NewCertPool()
			roots.AddCert(top)
			inter := x509.NewCertPool()
			for _, c := range chain[1 : len(chain)-1] {
				inter.AddCert(c)
			}
			if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("%w: %s presented a chain that does not verify against its own CA (%v); nothing was pinned", ErrServerTrust, node, err)
			}
		}
		if err := p.save(top); err != nil {
			return fmt.Errorf("ctiengine: pinning the server CA of %s in TLS.TrustStore %s: %w", node, p.path, err)
		}
		p.certs = []*x509.Certificate{top}
		p.log.Warn().Str("ctimanager", node).Str("trust_store", p.path).Str("subject", top.Subject.String()).
			Msg("trusting the CTIManager CA on first use and pinning it; later connections must chain to it")
		return nil
	}
	roots := x509.NewCertPool()
	for _, c := range p.certs {
		// A pinned server certificate (a server that sent no CA) matches
		// only as the leaf: the handshake proved the server holds its key.
		// A CA certificate merely included in the chain proves nothing,
		// so CAs go through chain verification below.
		if bytes.Equal(c.Raw, chain[0].Raw) {
			return nil
		}
		roots.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	next := p.successor(chain)
	if next.signer != nil {
		// The pinned CA signed the new one (the SAST's signature on a new
		// CTL): the leaf must chain to the new CA, which is then pinned.
		// The endorsement is a signature on the new trust, not a path
		// through the pinned CA (whose path length may well be zero).
		newRoot := x509.NewCertPool()
		newRoot.AddCert(next.ca)
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: newRoot, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			return fmt.Errorf("%w: %s presented a new server CA %q endorsed by the pinned CA, but its certificate (subject %q) does not chain to that new CA: %v",
				ErrServerTrust, node, next.ca.Subject.String(), chain[0].Subject.String(), err)
		}
		return p.update(node, next)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return p.refusal(node, chain, next, err)
	}
	return nil
}

// successorCA is a new server trust found in a presented chain: a
// self-signed CA that is not pinned (ca), the certificate of the same key
// that endorses it (endorsement, nil when the chain has none), and the
// pinned certificate that signed that endorsement (signer, nil when none
// did).
type successorCA struct {
	ca, endorsement, signer *x509.Certificate
}

// successor looks for a new server trust at the top of chain. The CTL
// analogue (Cisco JTAPI guide 15 p.262: "subsequent CTL downloads get
// verified with the SAST from the old CTL file"): a CTIManager whose
// cluster moved to a new CA presents, above its leaf, the new CA's
// certificate endorsed by the pinned CA, then the new CA itself. Only the
// top of the chain can be a new trust anchor, and only a self-signed one:
// an ordinary intermediate CA is never taken for one.
func (p *trustPin) successor(chain []*x509.Certificate) successorCA {
	top := chain[len(chain)-1]
	if len(chain) < 2 || !top.IsCA || !bytes.Equal(top.RawSubject, top.RawIssuer) || top.CheckSignatureFrom(top) != nil {
		return successorCA{}
	}
	for _, c := range p.certs {
		if bytes.Equal(c.Raw, top.Raw) {
			return successorCA{} // already pinned
		}
	}
	out := successorCA{ca: top}
	for _, e := range chain[1 : len(chain)-1] {
		if !e.IsCA || !bytes.Equal(e.RawSubjectPublicKeyInfo, top.RawSubjectPublicKeyInfo) {
			continue
		}
		out.endorsement = e
		for _, c := range p.certs {
			if c.IsCA && bytes.Equal(e.RawIssuer, c.RawSubject) && e.CheckSignatureFrom(c) == nil && within(e) && within(c) {
				out.signer = c
				return out
			}
		}
	}
	return out
}

// within reports whether c is inside its validity period now. Trust
// updates are rare and security-relevant, so the wall clock is read here
// (the handshake, which this runs inside, reads it too).
func within(c *x509.Certificate) bool {
	now := time.Now()
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// refusal builds the error for a chain that does not verify against the
// pin, telling an unsigned or foreign new server trust apart from a plain
// mismatch.
func (p *trustPin) refusal(node string, chain []*x509.Certificate, next successorCA, err error) error {
	switch {
	case next.ca != nil && next.endorsement == nil:
		return fmt.Errorf("%w: %s presented a new server CA %q that is not signed by the CA pinned in %s (%s): an unsigned replacement is refused, "+
			"as a new CTL is accepted only when signed by the pinned one; its certificate does not chain to the pinned CA (%v). "+
			"If the cluster's CA really changed without an endorsement, replace that file in a secure environment",
			ErrServerTrust, node, next.ca.Subject.String(), p.path, p.pinnedNames(), err)
	case next.ca != nil && next.signer == nil:
		return fmt.Errorf("%w: %s presented a new server CA %q endorsed by %q, which is not the CA pinned in %s (%s): a foreign replacement is refused; "+
			"its certificate does not chain to the pinned CA (%v). If the cluster's CA really changed, replace that file in a secure environment",
			ErrServerTrust, node, next.ca.Subject.String(), next.endorsement.Issuer.String(), p.path, p.pinnedNames(), err)
	}
	return fmt.Errorf("%w: %s presented a certificate (subject %q, issuer %q) that does not chain to the CA pinned in %s: %v; "+
		"if the cluster's CA really changed, replace that file in a secure environment",
		ErrServerTrust, node, chain[0].Subject.String(), chain[0].Issuer.String(), p.path, err)
}

// update pins an endorsed successor CA: the trust store then holds the new
// CA and the pinned CA that signed it, so CTIManagers not yet moved to the
// new CA stay reachable in a failover; the next update (a CA endorsed by
// the new one) drops the older generation. Cisco is silent on how long an
// old CTL entry stays trusted; this is our choice, in docs/engine.md §9.
func (p *trustPin) update(node string, next successorCA) error {
	certs := []*x509.Certificate{next.ca, next.signer}
	if err := p.save(certs...); err != nil {
		return fmt.Errorf("ctiengine: pinning the new server CA %q of %s in TLS.TrustStore %s: %w", next.ca.Subject.String(), node, p.path, err)
	}
	old := p.pinnedNames()
	p.certs = certs
	p.log.Warn().Str("ctimanager", node).Str("trust_store", p.path).Str("subject", next.ca.Subject.String()).
		Str("signed_by", next.signer.Subject.String()).Str("replaced", old).
		Msg("server trust updated: the CTIManager presented a new CA signed by the pinned one; pinned it (the signing CA is kept for CTIManagers not yet moved)")
	return nil
}

func (p *trustPin) pinnedNames() string {
	names := make([]string, len(p.certs))
	for i, c := range p.certs {
		names[i] = c.Subject.String()
	}
	return strings.Join(names, ", ")
}

func (p *trustPin) save(certs ...*x509.Certificate) error {
	dir := filepath.Dir(p.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".trust-*.pem")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	for _, c := range certs {
		if err := pem.Encode(tmp, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p.path)
}

// loadClientCert loads the instance's client certificate and checks that
// it was issued for instanceID (CommonName).
func loadClientCert(certFile, keyFile, instanceID string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, fmt.Errorf("ctiengine: loading TLS.ClientCert %s / TLS.ClientKey %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return cert, fmt.Errorf("ctiengine: parsing TLS.ClientCert %s: %w", certFile, err)
	}
	if leaf.Subject.CommonName != instanceID {
		return cert, fmt.Errorf("ctiengine: TLS.ClientCert %s was issued for %q, not InstanceID %q: configure the certificate of this instanceId",
			certFile, leaf.Subject.CommonName, instanceID)
	}
	cert.Leaf = leaf
	return cert, nil
}

func (e *Engine) tlsConfig(node string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{e.cert},
		// Verification is done against the pinned CA (VerifyConnection),
		// not the system roots: CTIManagers use the cluster's own CA and are
		// often addressed by IP.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return e.pin.verify(node, cs.PeerCertificates)
		},
	}
}
