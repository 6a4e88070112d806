package ctiengine

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// certAlert returns the TLS alert a CTIManager sent about the client
// certificate, if err is one. With TLS 1.3 the client's handshake ends
// before the server has checked the client certificate, so a refusal (an
// expired certificate, one from another CA) arrives as a remote alert on
// the first read of an apparently established link, or on the handshake
// itself with earlier versions. crypto/tls reports remote alerts as
// *net.OpError{Op: "remote error"}; the certificate alerts all name the
// certificate ("tls: expired certificate", "tls: unknown certificate
// authority", "tls: bad certificate", "tls: certificate required", ...).
func certAlert(err error) (string, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return "", false
	}
	a := oe.Err.Error()
	return a, strings.Contains(a, "certificate")
}

// clientCertRefused reports a CTIManager refusing the client certificate:
// a CertificateProblem{CLIENT_CERT_REFUSED} event and an error log line
// naming the certificate file, the instanceId and the alert. The caller
// then handles the loss as any failed connection (next CTIManager, retry):
// the operator may fix the certificate while the bridge keeps trying.
func (m *Machine) clientCertRefused(err error, now time.Time) {
	if !m.linkTLS || m.announced {
		return
	}
	alert, ok := certAlert(err)
	if !ok {
		return
	}
	detail := fmt.Sprintf("CTIManager %s refused the TLS client certificate %s (instanceId %s): %s; "+
		"configure a currently valid certificate issued by the cluster's CA for this instanceId",
		m.nodeName, m.cfg.TLS.ClientCert, m.cfg.InstanceID, alert)
	m.emitCertProblem(now, "CLIENT_CERT_REFUSED", 0, detail)
	m.note(zerolog.ErrorLevel, detail, nil)
}

// warnCertValidity logs, at startup, a client certificate that CTIManager
// will refuse because it is outside its validity period. The engine still
// runs (and retries): the refusal is reported per attempt.
func warnCertValidity(log zerolog.Logger, file string, leaf *x509.Certificate, now time.Time) {
	switch {
	case now.After(leaf.NotAfter):
		log.Error().Str("client_cert", file).Time("not_after", leaf.NotAfter).
			Msg("TLS.ClientCert has expired: CTIManager will refuse it; configure a renewed certificate for this instanceId")
	case now.Before(leaf.NotBefore):
		log.Error().Str("client_cert", file).Time("not_before", leaf.NotBefore).
			Msg("TLS.ClientCert is not valid yet: CTIManager will refuse it until then; check the certificate and the clock")
	}
}
