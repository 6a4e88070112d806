package faultmatrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// A high-availability group on the rig: several in-process bridges, each
// a member with its own NATS connection, started and stopped by name.
// Faults on one member (Kill, Stop, StepDown) leave the others running.

// MemberConfig configures one member of a high-availability group.
type MemberConfig struct {
	// HA is the member's high-availability configuration (Mode at least).
	HA bridge.HAConfig
	// InstanceID selects the client certificate (one of
	// RigConfig.TLSInstances) the member's provider opens with over TLS;
	// "" opens over plain TCP. Members of a cold group share one; members
	// of a hot group each have their own.
	InstanceID string
	// Tune, if set, adjusts the member's configuration last.
	Tune func(*bridge.Config)
}

// tlsPKIDir is where the rig writes its development PKI.
func (r *Rig) tlsPKIDir() string { return filepath.Join(r.cfg.DataDir, "pki") }

// withTLS points cfg at the simulator's TLS ports with instanceID's
// client certificate, and a trust store of its own (trust on first use).
func (r *Rig) withTLS(cfg *ctiengine.Config, instanceID, trustName string) {
	cert, key := ctisim.ClientCertFiles(instanceID)
	cfg.InstanceID = instanceID
	cfg.TLS = ctiengine.TLSConfig{ClientCert: filepath.Join(r.tlsPKIDir(), cert), ClientKey: filepath.Join(r.tlsPKIDir(), key),
		TrustStore: filepath.Join(r.cfg.DataDir, "trust-"+trustName+".pem"), RequireTLS: true}
}

// StartMember starts a member of a high-availability group named name
// (its instance id is name plus a per-run suffix).
func (r *Rig) StartMember(name string, mc MemberConfig) (*bridge.Bridge, error) {
	if r.members[name] != nil {
		return nil, fmt.Errorf("faultmatrix: member %s already runs", name)
	}
	r.runs++
	hc := mc.HA
	rb, err := r.runBridge(fmt.Sprintf("member-%s-%d", name, r.runs), fmt.Sprintf("%s%d", name, time.Now().UnixNano()%1_000_000_000),
		func(cfg *bridge.Config) {
			cfg.Logger = r.cfg.Logger.With().Str("member", name).Logger()
			cfg.HA = &hc
			if mc.InstanceID != "" {
				r.withTLS(&cfg.Engine, mc.InstanceID, name)
			}
			if mc.Tune != nil {
				mc.Tune(cfg)
			}
		})
	if err != nil {
		return nil, err
	}
	if r.members == nil {
		r.members = map[string]*runningBridge{}
	}
	r.members[name] = rb
	return rb.b, nil
}

// Member returns a running member (nil if none by that name).
func (r *Rig) Member(name string) *bridge.Bridge {
	if rb := r.members[name]; rb != nil {
		return rb.b
	}
	return nil
}

// StopMember stops a member in order (as on SIGTERM: an active member
// hands the lease over) and returns what Run returned.
func (r *Rig) StopMember(name string) error { return r.StopMemberFor(name, nil) }

// StopMemberFor is StopMember with the reason the member's BridgeStopping
// gives (a bridge.StopCause; nil: stopped).
func (r *Rig) StopMemberFor(name string, cause error) error {
	rb := r.members[name]
	if rb == nil {
		return nil
	}
	delete(r.members, name)
	rb.cancel(cause)
	var err error
	select {
	case err = <-rb.done:
	case <-time.After(30 * time.Second):
		err = errors.New("faultmatrix: member did not stop within 30s")
	}
	rb.nc.Close()
	return err
}

// KillMember crashes a member: its CTI links drop with nothing sent, its
// NATS connection closes with whatever it had not published, its lease is
// left to expire.
func (r *Rig) KillMember(name string) {
	rb := r.members[name]
	if rb == nil {
		return
	}
	delete(r.members, name)
	rb.nc.Close()
	rb.b.Kill()
	<-rb.done
	rb.cancel(nil)
}

// ActiveMember names the member that holds the lease ("" if none).
func (r *Rig) ActiveMember() string {
	for name, rb := range r.members {
		if rb.b.IsActive() {
			return name
		}
	}
	return ""
}

// WaitActive waits (bounded by d) until a member other than not is
// active with its provider in service, and names it.
func (r *Rig) WaitActive(d time.Duration, not string) (string, error) {
	var found string
	if !testwait.Poll(d, func() bool {
		name := r.ActiveMember()
		if name == "" || name == not {
			return false
		}
		eng := r.members[name].b.Engine()
		if eng == nil {
			return false
		}
		st := eng.Status()
		found = name
		return st.Ready && st.Link == ctiengine.LinkUp.String()
	}) {
		return "", fmt.Errorf("faultmatrix: no member other than %q active and in service within %v", not, d)
	}
	return found, nil
}

// CertificateClashes counts the providers the simulator closed or refused
// because their client certificate was in use by another provider
// (DUPLICATECERTUSED) or was marked compromised after repeated clashes.
func (r *Rig) CertificateClashes() int {
	n := 0
	for _, rec := range r.Sim.GroundTruth("") {
		if !rec.Sent {
			continue
		}
		var reason ctilink.CloseReason
		switch m := rec.Msg.(type) {
		case ctilink.ProviderClosed:
			reason = m.Reason
		case ctilink.ProviderOpenCompleted:
			reason = m.Reason
		default:
			continue
		}
		if reason == ctilink.CloseDuplicateCertUsed || reason == ctilink.CloseCertCompromised {
			n++
		}
	}
	return n
}

// LeaseHolder names the instance that holds the group's lease, read from
// the lease bucket ("" if nobody does). For tests: the value of the key is
// for operators and decides nothing.
func (r *Rig) LeaseHolder(ctx context.Context) (string, error) {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		return "", err
	}
	kv, err := js.KeyValue(ctx, jetstream.DefaultLeaderBucket)
	if err != nil {
		return "", err
	}
	e, err := kv.Get(ctx, ha.LeaseKey(r.cfg.Cluster))
	if errors.Is(err, natsjs.ErrKeyNotFound) || errors.Is(err, natsjs.ErrKeyDeleted) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var v struct {
		Instance string `json:"instance"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return "", err
	}
	return v.Instance, nil
}
