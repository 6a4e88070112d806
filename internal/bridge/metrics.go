package bridge

import (
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Label values every labelled counter starts with at zero, so that each
// documented series is there from the first scrape (a rate or an alert on
// a series that appears only with its first increment misses that first
// increment).
var (
	gapKinds                  = []string{"provider", "publish"}
	certificateProblemReasons = []string{"SERVER_TRUST", "CLIENT_CERT_REFUSED", "DUPLICATECERTUSED", "CERTCOMPROMISED"}
)

// Metrics are the bridge's Prometheus metrics, on a registry of their own
// (never the global one, so tests and several bridges in one process do not
// collide).
type Metrics struct {
	Registry *prometheus.Registry

	EventsIn        *prometheus.CounterVec
	EventsPublished prometheus.Counter
	PublishLatency  prometheus.Histogram
	EventLatency    prometheus.Histogram
	ProviderState   prometheus.Gauge
	Failovers       prometheus.Counter
	HeartbeatMisses prometheus.Counter
	Gaps            *prometheus.CounterVec
	BufferDepth     prometheus.GaugeFunc
	InFlight        prometheus.GaugeFunc
	Dropped         prometheus.CounterFunc
	Resends         prometheus.CounterFunc
	Duplicates      prometheus.CounterFunc
	NATSConnected   prometheus.GaugeFunc
	Rejected        prometheus.CounterFunc
	Reordered       prometheus.CounterFunc
	// StepDowns and StepDownsFailed count the stream-leader step-downs
	// the publisher asked for to free a message stuck "in process"
	// (jetstream.Config.Stream).
	StepDowns        prometheus.CounterFunc
	StepDownsFailed  prometheus.CounterFunc
	CertificateFatal prometheus.Gauge
	// CertificateProblems counts CertificateProblem events by reason
	// (DUPLICATECERTUSED warns before CERTCOMPROMISED makes it fatal).
	CertificateProblems *prometheus.CounterVec
	// DevicesRejected counts DeviceRejected events: control-list devices
	// skipped because they broke the link protocol's device rules.
	DevicesRejected prometheus.Counter
	// ProviderOpen and RouteSelect time the engine's Measurements.
	ProviderOpen prometheus.Histogram
	RouteSelect  prometheus.Histogram

	// High availability (registered by EnableHA): the role, the tenure,
	// role changes, what hot takeovers published, and the log fence.
	HAActive         prometheus.Gauge
	HAEpoch          prometheus.Gauge
	HALeaderChanges  *prometheus.CounterVec
	HARecovered      prometheus.Counter
	HAMatched        prometheus.Counter
	HAFenced         prometheus.CounterFunc
	HADiscarded      prometheus.CounterFunc
	HATakeoverSecond prometheus.Histogram
	stats            func() PublisherStats
}

// PublisherStats is what the metrics read from the publisher.
type PublisherStats struct {
	Buffered, InFlight                           int
	Dropped, Rejected, Reordered, Resends, Dupes uint64
	Fenced, Discarded                            uint64
	StepDowns, StepDownsFailed                   uint64
	Connected                                    bool
}

// ackLatencyBuckets are the buckets of the two JetStream ack latency
// histograms (from the publisher's enqueue, and from the frame read).
var ackLatencyBuckets = []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5}

// NewMetrics registers every metric. stats and engine are polled at
// scrape time (engine: see engineCollector).
func NewMetrics(stats func() PublisherStats, engine func() ctiengine.Status) *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(
		// go_gc_heap_live_bytes: the heap the last collection found live,
		// the figure that shows whether the bridge's memory is flat
		// (heap-in-use figures also count garbage not yet collected).
		collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}),
	), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(fn func(PublisherStats) float64) func() float64 {
		return func() float64 { return fn(stats()) }
	}
	m := &Metrics{
		Registry: r, stats: stats,
		EventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctibridge_events_in_total", Help: "Events produced by the engine, by family.",
		}, []string{"family"}),
		EventsPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ctibridge_events_published_total", Help: "Events acknowledged by JetStream.",
		}),
		PublishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ctibridge_publish_latency_seconds",
			Help:    "From the event entering the publisher (milliseconds after the CTI frame is read) to its JetStream ack.",
			Buckets: ackLatencyBuckets,
		}),
		EventLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ctibridge_event_latency_seconds",
			Help:    "From the CTI frame being read (the event's times.received) to its JetStream ack: the bridge's end to end latency. Events a hot standby recovers at a takeover count their whole wait.",
			Buckets: ackLatencyBuckets,
		}),
		ProviderState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ctibridge_provider_state", Help: "JTAPI provider state: 16 IN_SERVICE, 17 OUT_OF_SERVICE, 18 SHUTDOWN.",
		}),
		Failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ctibridge_failovers_total", Help: "CTIManager losses that took the provider out of service.",
		}),
		HeartbeatMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ctibridge_heartbeat_misses_total", Help: "Links torn down because nothing was heard for twice the server heartbeat interval.",
		}),
		Gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctibridge_gaps_total", Help: "Gap records: provider (observation) and publish (buffer overflow).",
		}, []string{"kind"}),
		BufferDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ctibridge_buffer_depth", Help: "Events waiting to be published.",
		}, f(func(s PublisherStats) float64 { return float64(s.Buffered) })),
		InFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ctibridge_publish_in_flight", Help: "Events sent to JetStream and not yet acknowledged.",
		}, f(func(s PublisherStats) float64 { return float64(s.InFlight) })),
		Dropped: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_events_dropped_total", Help: "Events dropped because the buffer overflowed (each inside a publish gap record).",
		}, f(func(s PublisherStats) float64 { return float64(s.Dropped) })),
		Resends: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_publish_resends_total", Help: "Events re-sent with the same Nats-Msg-Id after an unknown outcome.",
		}, f(func(s PublisherStats) float64 { return float64(s.Resends) })),
		Duplicates: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_publish_duplicates_total", Help: "Resends JetStream recognised as duplicates (already stored).",
		}, f(func(s PublisherStats) float64 { return float64(s.Dupes) })),
		NATSConnected: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ctibridge_nats_connected", Help: "1 when the publisher is connected to NATS.",
		}, f(func(s PublisherStats) float64 {
			if s.Connected {
				return 1
			}
			return 0
		})),
		Rejected: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_events_rejected_total", Help: "Events that could not be encoded or that NATS refused for good (each inside a publish gap record).",
		}, f(func(s PublisherStats) float64 { return float64(s.Rejected) })),
		Reordered: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_publish_reordered_total", Help: "Events stored after a later event of their entity (server refused one, stored the next); expected 0.",
		}, f(func(s PublisherStats) float64 { return float64(s.Reordered) })),
		StepDowns: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_publish_stepdowns_total", Help: "Stream-leader step-downs the bridge asked for, and the server did, because one event was refused as \"duplicate message id is in process\" at every send (a nats-server defect after an election); expected 0.",
		}, f(func(s PublisherStats) float64 { return float64(s.StepDowns) })),
		StepDownsFailed: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ctibridge_publish_stepdown_failures_total", Help: "Those step-downs refused or unanswered (asked again after a while; or run `nats stream cluster step-down <stream>`).",
		}, f(func(s PublisherStats) float64 { return float64(s.StepDownsFailed) })),
		CertificateFatal: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ctibridge_certificate_compromised", Help: "1 when CTIManager declared the client certificate compromised.",
		}),
		CertificateProblems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctibridge_certificate_problems_total", Help: "CertificateProblem events by reason: SERVER_TRUST, CLIENT_CERT_REFUSED, DUPLICATECERTUSED, CERTCOMPROMISED.",
		}, []string{"reason"}),
		DevicesRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ctibridge_devices_rejected_total", Help: "Control-list devices skipped because their name, lines or type broke the link protocol's rules (one DeviceRejected event each, repeated at every device list fetch).",
		}),
		ProviderOpen: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ctibridge_provider_open_duration_seconds",
			Help:    "From the connect to a CTIManager to the provider in service on it (opened, device list known, devices opened).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		RouteSelect: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ctibridge_route_select_latency_seconds",
			Help:    "From a route request's arrival to CTIManager's answer to the bridge's selectRoute (CUCM gives up after RouteSelectTimeout).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	m.ProviderState.Set(schema.ProviderOutOfService)
	for _, f := range schema.Families {
		m.EventsIn.WithLabelValues(string(f))
	}
	for _, k := range gapKinds {
		m.Gaps.WithLabelValues(k)
	}
	for _, r := range certificateProblemReasons {
		m.CertificateProblems.WithLabelValues(r)
	}
	r.MustRegister(m.EventsIn, m.EventsPublished, m.PublishLatency, m.EventLatency, m.ProviderState, m.Failovers,
		m.HeartbeatMisses, m.Gaps, m.BufferDepth, m.InFlight, m.Dropped, m.Resends, m.Duplicates,
		m.NATSConnected, m.Rejected, m.Reordered, m.StepDowns, m.StepDownsFailed, m.CertificateFatal, m.CertificateProblems, m.DevicesRejected,
		m.ProviderOpen, m.RouteSelect, newEngineCollector(engine, time.Now))
	return m
}

// ObserveMeasurement records one of the engine's timed durations
// (ctiengine.Config.Measure).
func (m *Metrics) ObserveMeasurement(ms ctiengine.Measurement) {
	switch ms.Kind {
	case ctiengine.MeasureProviderOpen:
		m.ProviderOpen.Observe(ms.Duration.Seconds())
	case ctiengine.MeasureRouteSelect:
		m.RouteSelect.Observe(ms.Duration.Seconds())
	}
}

// Observe updates the event-derived metrics for one engine event.
func (m *Metrics) Observe(ev *schema.Event) {
	m.EventsIn.WithLabelValues(string(ev.Family)).Inc()
	switch ev.Name {
	case schema.EvProvInService:
		m.ProviderState.Set(schema.ProviderInService)
	case schema.EvProvOutOfService:
		m.ProviderState.Set(schema.ProviderOutOfService)
		m.Failovers.Inc()
	case schema.EvProvShutdown:
		m.ProviderState.Set(schema.ProviderShutdown)
	case schema.EvCTIManagerLost:
		if p := ev.Data.Provider; p != nil && p.Reason == "HEARTBEAT_MISSED" {
			m.HeartbeatMisses.Inc()
		}
	case schema.EvGapOpened:
		m.Gaps.WithLabelValues("provider").Inc()
	case schema.EvPublishGap:
		m.Gaps.WithLabelValues("publish").Inc()
	case schema.EvDeviceRejected:
		m.DevicesRejected.Inc()
	case schema.EvCertificateProblem:
		if p := ev.Data.Provider; p != nil {
			m.CertificateProblems.WithLabelValues(p.Reason).Inc()
			if p.Reason == "CERTCOMPROMISED" {
				m.CertificateFatal.Set(1)
			}
		}
	}
}

// EnableHA registers the high-availability metrics (a member of a group).
func (m *Metrics) EnableHA() {
	f := func(fn func(PublisherStats) float64) func() float64 {
		return func() float64 { return fn(m.stats()) }
	}
	m.HAActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ctibridge_ha_active", Help: "1 while this bridge holds the lease and publishes, 0 on a standby.",
	})
	m.HAEpoch = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ctibridge_ha_epoch", Help: "Epoch (lease revision) of this bridge's current tenure, 0 on a standby.",
	})
	m.HALeaderChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ctibridge_ha_leader_changes_total", Help: "Tenures begun (change=acquired) and ended (change=lost, by reason: released, expired, taken, fenced) by this bridge.",
	}, []string{"change", "reason"})
	m.HARecovered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ctibridge_ha_recovered_events_total", Help: "Events a hot takeover published as recovered: observed by this standby, never stored by the previous active.",
	})
	m.HAMatched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ctibridge_ha_matched_events_total", Help: "Events a hot takeover found already stored by the previous active (not published again).",
	})
	m.HAFenced = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ctibridge_ha_fence_refusals_total", Help: "Publishes the log fence refused: a newer tenure had written its marker (this bridge then steps down).",
	}, f(func(s PublisherStats) float64 { return float64(s.Fenced) }))
	m.HADiscarded = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ctibridge_ha_discarded_events_total", Help: "Events left unpublished when a tenure ended (its successor accounts for them).",
	}, f(func(s PublisherStats) float64 { return float64(s.Discarded) }))
	m.HATakeoverSecond = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "ctibridge_ha_takeover_seconds", Help: "From acquiring the lease to publishing (a cold takeover includes its wait before opening the provider).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	m.Registry.MustRegister(m.HAActive, m.HAEpoch, m.HALeaderChanges, m.HARecovered, m.HAMatched, m.HAFenced, m.HADiscarded, m.HATakeoverSecond)
	m.HALeaderChanges.WithLabelValues("acquired", "")
	for _, r := range []lease.Reason{lease.ReasonReleased, lease.ReasonExpired, lease.ReasonTaken, lease.ReasonFenced} {
		m.HALeaderChanges.WithLabelValues("lost", string(r))
	}
}

func (m *Metrics) haAcquired(epoch uint64) {
	if m.HAActive == nil {
		return
	}
	m.HAActive.Set(1)
	m.HAEpoch.Set(float64(epoch))
	m.HALeaderChanges.WithLabelValues("acquired", "").Inc()
}

func (m *Metrics) haLost(reason string) {
	if m.HAActive == nil {
		return
	}
	m.HAActive.Set(0)
	m.HAEpoch.Set(0)
	m.HALeaderChanges.WithLabelValues("lost", reason).Inc()
}

func (m *Metrics) haRecovered(recovered, matched int) {
	if m.HAActive == nil {
		return
	}
	m.HARecovered.Add(float64(recovered))
	m.HAMatched.Add(float64(matched))
}

func (m *Metrics) haTakeover(d time.Duration) {
	if m.HAActive != nil {
		m.HATakeoverSecond.Observe(d.Seconds())
	}
}
