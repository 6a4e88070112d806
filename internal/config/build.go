package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/hot"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// MinBufferBytes is the smallest nats.bufferBytes the daemon accepts: below
// it a burst of ordinary events would already overflow the buffer. (The
// publisher itself takes any positive bound, as its tests do.)
const MinBufferBytes = 1 << 20

// Daemon is the configuration translated into the packages' own
// configurations: what `bridge run` builds, and what `bridge run --check`
// validates, with the packages' own Validate methods.
type Daemon struct {
	Log logging.Config
	// Embedded is the in-process NATS server (nil with external servers);
	// Connect the connection to external ones (nil with the embedded
	// server).
	Embedded *jetstream.EmbeddedConfig
	Connect  *jetstream.ConnectConfig
	// Bridge is everything else, the stream's provisioning included (the
	// bridge provisions in the background); run fills in Conn, Logger and
	// ConnError.
	Bridge bridge.Config
}

// fatalLinger keeps /readyz and /metrics up after a fatal provider
// shutdown (certificate compromised, retries exhausted) for two scrape
// intervals, so monitoring sees why before exit 1.
const fatalLinger = time.Minute

// Build translates the configuration into the packages' configurations
// for the run named instance and validates them: the packages' Validate
// methods, each problem named by the key it comes from, plus the few
// rules that concern the file's keys alone. It reports every problem at
// once. `bridge run` and `bridge run --check` both call it, so they
// cannot disagree.
func (c Config) Build(instance string) (Daemon, error) {
	d := c.translate(instance)
	var ps problemList
	ps.own(c.ownRules())
	ps.from(d.Log.Validate())
	if d.Embedded != nil {
		ps.from(d.Embedded.Validate())
	}
	if d.Connect != nil {
		ps.from(d.Connect.Validate())
	}
	ps.from(d.Bridge.Validate())
	return d, ps.err()
}

// checkInstance stands for a run's instance when only the file is checked
// (Validate): the run suffix is a timestamp and random hex.
const checkInstance = "20060102T150405-0123abcd"

// Validate reports every problem at once, each naming the key and the fix:
// Build's validation, for a run of this configuration.
func (c *Config) Validate() error {
	inst := checkInstance
	if c.Instance != "" {
		inst = c.Instance + "-" + checkInstance
	}
	_, err := c.Build(inst)
	return err
}

// translate maps each key onto the package field that carries it.
func (c Config) translate(instance string) Daemon {
	n := c.NATS
	d := Daemon{Log: logging.Config{Level: c.Log.Level, Format: c.Log.Format}}
	if n.Embedded {
		d.Embedded = &jetstream.EmbeddedConfig{
			DataDir: n.DataDir, Listen: n.Listen, SyncAlways: n.SyncAlways,
			User: n.User, Password: string(n.Password), Token: string(n.Token),
		}
	} else {
		d.Connect = &jetstream.ConnectConfig{
			URLs: n.URLs, Name: "ctibridge " + instance,
			CredentialsFile: n.Creds, NKeySeedFile: n.NKeySeed,
			User: n.User, Password: string(n.Password), Token: string(n.Token),
			CAFile: n.TLSCA, CertFile: n.TLSCert, KeyFile: n.TLSKey,
		}
	}
	mode, _ := schema.ParseMode(n.Mode) // ownRules reports a bad mode
	d.Bridge = bridge.Config{
		Instance:  instance,
		Engine:    c.CTI.engine(),
		Encoder:   schema.EncoderConfig{Cluster: c.Cluster, Source: c.Source, Mode: mode},
		Publisher: jetstream.Config{BufferSize: n.BufferSize, BufferBytes: n.BufferBytes, MaxInFlight: n.MaxInFlight},
		// The restart check reads the previous run's last events here.
		Stream:     n.Stream,
		HTTPListen: c.HTTP.Listen,
		Profiling:  c.HTTP.Pprof,
		// Folded-state snapshots for replay state --at on long logs, kept
		// like the events.
		Snapshots:   &replaystore.SnapshotterConfig{Replicas: n.Replicas, MaxAge: n.MaxAge},
		FatalLinger: fatalLinger,
		// Provisioned in the background as soon as NATS answers; until
		// then /readyz says why and events wait in the buffer.
		Provision: &jetstream.ProvisionConfig{Stream: n.Stream, Replicas: n.Replicas, MaxAge: n.MaxAge, Duplicates: n.DuplicateWindow,
			StateView: n.StateView, LeaderBucket: c.HA.Bucket, LeaderTTL: c.HA.LeaseTTL},
		HA: c.HA.bridge(),
	}
	if n.StateView {
		// The current state of every line and device, in KV cti-state.
		d.Bridge.StateView = &stateview.Config{}
	}
	return d
}

// bridge maps the ha section onto the bridge (nil when disabled).
func (h HAConfig) bridge() *bridge.HAConfig {
	if !h.Enabled {
		return nil
	}
	return &bridge.HAConfig{
		Mode: ha.Mode(h.Mode), Bucket: h.Bucket,
		Lease:    lease.Config{TTL: h.LeaseTTL, RenewEvery: h.RenewEvery},
		ColdWait: h.ColdWait,
		Window:   hot.Config{MaxAge: h.HotWindow},
	}
}

// engine maps the jtapi.ini-style settings onto the engine.
func (c CTIConfig) engine() ctiengine.Config {
	out := ctiengine.Config{
		Login: c.Login, Password: string(c.Password), AppInfo: c.AppInfo, InstanceID: c.InstanceID,
		DesiredServerHeartbeatInterval: c.DesiredServerHeartbeatInterval.Duration(),
		ProviderRetryInterval:          c.ProviderRetryInterval.Duration(),
		ProviderOpenRequestTimeout:     c.ProviderOpenRequestTimeout.Duration(),
		CtiRequestTimeout:              c.CtiRequestTimeout.Duration(),
		ProviderOpenRetryAttempts:      c.ProviderOpenRetryAttempts,
		FallbackInitiationTime:         c.FallbackInitiationTime.Duration(),
		RouteSelectTimeout:             c.RouteSelectTimeout.Duration(),
		Observe:                        c.Observe,
		MaxFrameSize:                   c.MaxFrameSize,
		MaxDevices:                     c.MaxDevices,
		MaxCalls:                       c.MaxCalls,
		TLS: ctiengine.TLSConfig{
			ClientCert: c.TLS.ClientCert, ClientKey: c.TLS.ClientKey, TrustStore: c.TLS.TrustStore, RequireTLS: c.TLS.Enabled,
		},
	}
	for _, m := range c.CTIManagers {
		out.CTIManagers = append(out.CTIManagers, ctiengine.CTIManager{Name: m.Name, Addr: m.Address, TLSAddr: m.TLSAddress, LeastPriority: m.LeastPriority})
	}
	if len(c.CTIPorts) > 0 {
		out.CTIPorts = map[string]ctiengine.CTIPortConfig{}
		for dev, m := range c.CTIPorts {
			out.CTIPorts[dev] = ctiengine.CTIPortConfig{Dynamic: m.Dynamic, Media: ctilink.MediaParams{IP: m.IP, Port: m.Port, Codecs: m.Codecs, PacketMs: m.PacketMs}}
		}
	}
	if len(c.RoutePoints) > 0 {
		out.RoutePoints = map[string]ctiengine.RoutePointConfig{}
		for rp, dests := range c.RoutePoints {
			out.RoutePoints[rp] = ctiengine.RoutePointConfig{Destinations: dests}
		}
	}
	return out
}

// ownRules are the rules about the file's keys that no package holds: how
// keys combine (embedded or external NATS), where secrets come from, and
// the daemon's floor for the buffer.
func (c Config) ownRules() []keyedProblem {
	var out []keyedProblem
	bad := func(key, format string, args ...any) {
		out = append(out, keyedProblem{key, fmt.Sprintf(format, args...)})
	}
	if c.CTI.Password == "" {
		bad("cti.password", "is empty; set the application user's password with CTIBRIDGE_CTI_PASSWORD (keep it out of the file)")
	}
	n := c.NATS
	if n.Embedded {
		if len(n.URLs) > 0 {
			bad("nats.urls", "is set but nats.embedded is true: set embedded: false to use these servers, or remove urls to use the embedded one")
		}
		for _, k := range []struct{ key, v string }{
			{"nats.creds", n.Creds}, {"nats.nkeySeed", n.NKeySeed}, {"nats.tlsCA", n.TLSCA}, {"nats.tlsCert", n.TLSCert}, {"nats.tlsKey", n.TLSKey},
		} {
			if k.v != "" {
				bad(k.key, "applies to external NATS servers only, and nats.embedded is true: the embedded server enforces nats.user and nats.password, or nats.token")
			}
		}
	} else if len(n.URLs) == 0 {
		bad("nats.urls", "is empty and nats.embedded is false; list the servers, e.g. [nats://nats-1:4222] (or CTIBRIDGE_NATS_URL), or set embedded: true")
	}
	if n.BufferBytes != 0 && n.BufferBytes < MinBufferBytes {
		bad("nats.bufferBytes", "is %d bytes; the minimum is %d (1 MiB) (leave it out for the default %d)", n.BufferBytes, int64(MinBufferBytes), int64(jetstream.DefaultBufferBytes))
	}
	if _, err := schema.ParseMode(n.Mode); err != nil {
		bad("nats.mode", "%q: use binary (default) or structured", n.Mode)
	}
	if c.HA.Enabled && c.Instance == "" {
		bad("instance", "is empty and ha.enabled is true: give every instance of the group its own name (e.g. instance: bridge-a)")
	}
	return out
}

// keyedProblem is a problem of the file's own rules, already named by key.
type keyedProblem struct{ key, msg string }

// problemList collects the problems of one Build in order, each named by its
// key; a key that one package already reported is not reported again by
// another (nats.replicas is checked by the stream's and by the
// snapshots' configuration).
type problemList struct {
	list []error
	by   map[string]string // key → the package that reported it
}

func (p *problemList) own(ks []keyedProblem) {
	for _, k := range ks {
		p.add("config", k.key, k.msg)
	}
}

// from adds the problems of a package's Validate, named by the keys its
// field names come from.
func (p *problemList) from(err error) {
	for _, leaf := range leaves(err) {
		pkg, key, msg := nameByKey(leaf.Error())
		p.add(pkg, key, msg)
	}
}

func (p *problemList) add(pkg, key, msg string) {
	if p.by == nil {
		p.by = map[string]string{}
	}
	if first, ok := p.by[key]; ok && first != pkg {
		return
	}
	p.by[key] = pkg
	p.list = append(p.list, errors.New(oneLine(key+": "+msg)))
}

func (p *problemList) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return fmt.Errorf("config: %d problem(s):\n  %w", len(p.list), joinIndented(p.list))
}

// leaves flattens joined errors (errors.Join, the packages' Validate) into
// the single problems they hold.
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}
