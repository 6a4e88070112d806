package bridge

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

// engineCollector reads the engine's status once per scrape for the
// gauges that describe the CTI side as it is now: active calls, devices
// and lines (out of service by cause), the CTIManager connected, the age
// of the last frame heard and the negotiated server heartbeat. Every
// series is there from the first scrape: the out-of-service gauges for
// every cause, the connection gauge for every configured CTIManager.
type engineCollector struct {
	status func() ctiengine.Status
	now    func() time.Time

	calls, devices, lines, devicesOOS, linesOOS, connected, lastFrameAge, serverHeartbeat *prometheus.Desc
}

func newEngineCollector(status func() ctiengine.Status, now func() time.Time) *engineCollector {
	return &engineCollector{
		status: status, now: now,
		calls: prometheus.NewDesc("ctibridge_calls_active",
			"Calls the bridge tracks now (the JTAPI calls its observers see).", nil, nil),
		devices: prometheus.NewDesc("ctibridge_devices",
			"Devices (terminals) of the control list the bridge tracks.", nil, nil),
		lines: prometheus.NewDesc("ctibridge_lines",
			"Lines (addresses) of the tracked devices.", nil, nil),
		devicesOOS: prometheus.NewDesc("ctibridge_devices_out_of_service",
			"Tracked devices not in service, by the JTAPI cause of their last out-of-service (CTIMANAGER_FAILURE while the provider is out of service).",
			[]string{"cause"}, nil),
		linesOOS: prometheus.NewDesc("ctibridge_lines_out_of_service",
			"Tracked lines not in service, by the JTAPI cause of their last out-of-service.",
			[]string{"cause"}, nil),
		connected: prometheus.NewDesc("ctibridge_ctimanager_connected",
			"One series per configured CTIManager: 1 for the one the provider's link is established to, 0 for the others.",
			[]string{"ctimanager", "address", "least_priority"}, nil),
		lastFrameAge: prometheus.NewDesc("ctibridge_cti_last_frame_age_seconds",
			"Seconds since anything was last received from a CTIManager (+Inf before the first frame); the link is torn down at twice the server heartbeat.",
			nil, nil),
		serverHeartbeat: prometheus.NewDesc("ctibridge_cti_server_heartbeat_seconds",
			"The server heartbeat interval CTIManager negotiated on the current link (0 without one).", nil, nil),
	}
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.devices, c.lines, c.devicesOOS, c.linesOOS, c.connected, c.lastFrameAge, c.serverHeartbeat} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.calls, float64(st.Calls))
	gauge(c.devices, float64(st.Devices))
	gauge(c.lines, float64(st.Lines))
	for _, cause := range ctiengine.OutOfServiceCauses {
		gauge(c.devicesOOS, float64(st.DevicesOutOfService[cause]), cause)
		gauge(c.linesOOS, float64(st.LinesOutOfService[cause]), cause)
	}
	for _, m := range st.CTIManagers {
		v := 0.0
		if m.Connected {
			v = 1
		}
		gauge(c.connected, v, m.Name, m.Addr, strconv.FormatBool(m.LeastPriority))
	}
	age := math.Inf(1)
	if !st.LastHeardAt.IsZero() {
		age = max(0, c.now().Sub(st.LastHeardAt).Seconds())
	}
	gauge(c.lastFrameAge, age)
	gauge(c.serverHeartbeat, float64(st.ServerHeartbeatMs)/1000)
}
