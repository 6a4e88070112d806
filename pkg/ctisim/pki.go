package ctisim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a development certificate authority: it issues the CTIManagers'
// server certificates and the clients' certificates (CommonName =
// instanceId). Keys are ECDSA P-256; certificates are valid from an hour
// ago for CertValidity.
type PKI struct {
	// CA is the authority's certificate.
	CA *x509.Certificate
	// CAPEM is CA in PEM form (what clients put in their trust store).
	CAPEM []byte
	// Endorsement, set on a successor CA (Successor), is the new CA's
	// subject and key certified by the CA it replaces: the analogue of the
	// SAST signature on a new CTL file (Cisco JTAPI guide 15 p.262). Server
	// certificates are served with it, between the leaf and the new CA.
	Endorsement *x509.Certificate

	key *ecdsa.PrivateKey
}

// CertValidity is how long issued certificates (and the CA) are valid.
const CertValidity = 10 * 365 * 24 * time.Hour

// File names inside a PKI directory (see WriteDevPKI).
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// ServerCertFiles returns the certificate and key file names WriteDevPKI
// uses for a node.
func ServerCertFiles(node string) (cert, key string) {
	return "server-" + node + ".pem", "server-" + node + "-key.pem"
}

// ClientCertFiles returns the certificate and key file names WriteDevPKI
// uses for an instanceId.
func ClientCertFiles(instanceID string) (cert, key string) {
	return "client-" + instanceID + ".pem", "client-" + instanceID + "-key.pem"
}

// NewPKI creates a fresh CA in memory.
func NewPKI() (*PKI, error) { return newCA("ctisim development CA") }

func newCA(name string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ctisim: generating CA key: %w", err)
	}
	tmpl := caTemplate(name)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ctisim: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ctisim: parsing CA certificate: %w", err)
	}
	return &PKI{CA: cert, CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ctibridge"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(CertValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
}

// Successor creates the CA that replaces p when the cluster's server trust
// changes (the CTL analogue of a new CTL file). With endorsed, p certifies
// the new CA's key (Endorsement), as CUCM's SAST token signs a new CTL with
// the key of the old one (Cisco JTAPI guide 15 p.262); a client that pinned
// p then accepts and pins the successor. Without it the successor is an
// unsigned replacement, which such a client refuses. name is the new CA's
// CommonName.
func (p *PKI) Successor(name string, endorsed bool) (*PKI, error) {
	next, err := newCA(name)
	if err != nil {
		return nil, err
	}
	if !endorsed {
		return next, nil
	}
	tmpl := caTemplate(name)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &next.key.PublicKey, p.key)
	if err != nil {
		return nil, fmt.Errorf("ctisim: endorsing CA %q with %q: %w", name, p.CA.Subject.CommonName, err)
	}
	if next.Endorsement, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("ctisim: parsing the endorsement of CA %q: %w", name, err)
	}
	return next, nil
}

// LoadPKI reads a CA written by WriteDevPKI (ca.pem and ca-key.pem in dir).
func LoadPKI(dir string) (*PKI, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("ctisim: reading CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("ctisim: reading CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ctisim: loading CA from %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ctisim: CA key in %s is not an ECDSA key", dir)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("ctisim: parsing CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("ctisim: %s is not a CA certificate", filepath.Join(dir, CAFile))
	}
	return &PKI{CA: cert, CAPEM: certPEM, key: key}, nil
}

// LoadOrCreatePKI loads the CA in dir, or creates one with WriteDevPKI
// (server certificates for nodes, client certificates for instances) when
// dir holds no ca.pem.
func LoadOrCreatePKI(dir string, nodes, instances []string) (*PKI, error) {
	if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
		return LoadPKI(dir)
	}
	return WriteDevPKI(dir, nodes, instances)
}

// WriteDevPKI creates a CA and writes, into dir (created if needed):
// ca.pem, ca-key.pem, a server certificate and key per node
// (server-<node>.pem, server-<node>-key.pem; SANs 127.0.0.1, ::1,
// localhost and the node name) and a client certificate and key per
// instanceId (client-<id>.pem, client-<id>-key.pem; CommonName = id).
// Keys are written with mode 0600.
func WriteDevPKI(dir string, nodes, instances []string) (*PKI, error) {
	p, err := NewPKI()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ctisim: creating PKI directory: %w", err)
	}
	caKey, err := x509.MarshalECPrivateKey(p.key)
	if err != nil {
		return nil, fmt.Errorf("ctisim: encoding CA key: %w", err)
	}
	if err := writePEMs(dir, CAFile, p.CAPEM, CAKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKey})); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		c, err := p.IssueServer(n)
		if err != nil {
			return nil, err
		}
		cf, kf := ServerCertFiles(n)
		if err := writePair(dir, cf, kf, c); err != nil {
			return nil, err
		}
	}
	for _, id := range instances {
		c, err := p.IssueClient(id)
		if err != nil {
			return nil, err
		}
		cf, kf := ClientCertFiles(id)
		if err := writePair(dir, cf, kf, c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func writePair(dir, certFile, keyFile string, c tls.Certificate) error {
	keyDER, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return fmt.Errorf("ctisim: encoding key: %w", err)
	}
	return writePEMs(dir, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

func writePEMs(dir, certFile string, certPEM []byte, keyFile string, keyPEM []byte) error {
	if err := os.WriteFile(filepath.Join(dir, certFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("ctisim: writing %s: %w", certFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("ctisim: writing %s: %w", keyFile, err)
	}
	return nil
}

// IssueServer issues a server certificate for a CTIManager node (SANs
// 127.0.0.1, ::1, localhost and the node name). Each call issues a new
// certificate with a new key, so it also serves certificate rotation (see
// Server.RotateServerCertificate).
//
// The certificate is served with the CA behind it, as a CUCM node's chain
// ends in the cluster's CA: a client that trusts on first use (the CTL
// analogue) then pins the CA, and later certificates the CA issues (a
// rotation) are accepted.
func (p *PKI) IssueServer(node string) (tls.Certificate, error) {
	c, err := p.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: node, Organization: []string{"ctisim"}},
		DNSNames:    []string{"localhost", node},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return c, err
	}
	if p.Endorsement != nil {
		c.Certificate = append(c.Certificate, p.Endorsement.Raw)
	}
	c.Certificate = append(c.Certificate, p.CA.Raw)
	return c, nil
}

// IssueClient issues a client certificate whose CommonName is instanceID.
func (p *PKI) IssueClient(instanceID string) (tls.Certificate, error) {
	if instanceID == "" {
		return tls.Certificate{}, errors.New("ctisim: a client certificate needs an instanceId")
	}
	return p.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: instanceID, Organization: []string{"ctisim client"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (p *PKI) issue(tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ctisim: generating key: %w", err)
	}
	tmpl.SerialNumber = randomSerial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(CertValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ctisim: issuing certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ctisim: parsing issued certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Pool returns a certificate pool holding the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// ClientTLSConfig returns a TLS 1.3 client configuration that trusts the
// CA and presents cert.
func (p *PKI) ClientTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      p.Pool(),
		Certificates: []tls.Certificate{cert},
	}
}

func (p *PKI) check(ClusterConfig) error {
	if p.CA == nil || p.key == nil {
		return errors.New("ctisim: PKI has no CA; build it with NewPKI, LoadPKI or WriteDevPKI")
	}
	return nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

// RotateServerCertificate issues a new server certificate for a node from
// the CA and serves it to every new TLS connection (existing ones keep
// theirs). It returns the new certificate.
func (s *Server) RotateServerCertificate(node string) (tls.Certificate, error) {
	if s.cfg.PKI == nil {
		return tls.Certificate{}, errors.New("ctisim: no PKI configured (Config.PKI)")
	}
	return s.RotateServerCertificateFrom(node, s.cfg.PKI)
}

// RotateServerCertificateFrom is RotateServerCertificate with a
// certificate issued by ca, typically a Successor of the configured PKI:
// the node's server trust changes (endorsed or not by the CA clients
// pinned). Client certificates are still verified against the configured
// PKI, as CAPF-issued certificates do not change with the CTL.
func (s *Server) RotateServerCertificateFrom(node string, ca *PKI) (tls.Certificate, error) {
	n, err := s.lookupNode(node)
	if err != nil {
		return tls.Certificate{}, err
	}
	if s.cfg.PKI == nil {
		return tls.Certificate{}, errors.New("ctisim: no PKI configured (Config.PKI)")
	}
	cert, err := ca.IssueServer(node)
	if err != nil {
		return tls.Certificate{}, err
	}
	n.mu.Lock()
	n.cert = &cert
	n.mu.Unlock()
	n.log.Info().Str("serial", cert.Leaf.SerialNumber.String()).Msg("server certificate rotated")
	return cert, nil
}
