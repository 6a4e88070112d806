package ctiengine

import (
	"fmt"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// device is one terminal of the control list with its addresses, observer
// flags and registrations. Observers are decided by Config.Observe and so
// survive every failover unchanged.
type device struct {
	name        string
	model       string
	callManager string
	typ         ctilink.DeviceType
	lines       []line
	addrs       []string // the lines' DNs, shared read-only by terminal events
	observed    bool     // a TerminalObserver is on the terminal
	inService   bool
	oosCause    int // JTAPI cause of the last out-of-service (0: none given)
	registered  bool
	port        *CTIPortConfig // CTI port media registration, if configured
	routeDN     string         // route point DN with a route callback, if configured
	opened      bool           // DeviceOpenRequest accepted on the current link
	regOK       bool           // registration accepted on the current link
	everReg     bool           // registered on an earlier link: the route callback is kept
	regFailed   string
	seen        bool
}

type line struct {
	dn        string
	partition string
	observed  bool // an AddressObserver is on the address
	opened    bool
	inService bool
	oosCause  int // as device.oosCause
}

func (d *device) needsOpen() bool {
	if d.observed || d.port != nil || d.routeDN != "" {
		return true
	}
	for i := range d.lines {
		if d.lines[i].observed {
			return true
		}
	}
	return false
}

func (d *device) lineOpenWanted(l *line) bool {
	return l.observed || d.observed || d.port != nil || d.routeDN != ""
}

func (d *device) line(dn string) *line {
	for i := range d.lines {
		if d.lines[i].dn == dn {
			return &d.lines[i]
		}
	}
	return nil
}

func (m *Machine) observed(name string) bool {
	if m.observeAll {
		return true
	}
	_, ok := m.observeSet[name]
	return ok
}

// applyDeviceList replaces the device table with the list just fetched,
// keeping registrations' history; after the first time in service, added
// and removed devices are reported (CiscoTermCreatedEv/RemovedEv).
func (m *Machine) applyDeviceList(now time.Time) {
	for _, d := range m.devices {
		d.seen = false
	}
	m.created = m.created[:0]
	m.removed = m.removed[:0]
	devs := make([]*device, 0, len(m.listBuf))
	clear(m.byDN)
	clear(m.dnDevices)
	for _, info := range m.listBuf {
		d, ok := m.byName[info.Name]
		if ok && d.seen {
			continue // duplicate in the list
		}
		if !ok {
			d = &device{name: info.Name}
			m.byName[info.Name] = d
			if m.everInService {
				m.created = append(m.created, d)
			}
		}
		d.seen = true
		d.model = info.Model
		d.callManager = info.CallManager
		d.typ = info.Type
		d.inService, d.oosCause = info.InService, 0
		d.registered = info.Registered
		if !d.inService {
			d.oosCause = oosCause(d)
		}
		d.observed = m.observed(info.Name)
		d.opened, d.regOK, d.regFailed = false, false, ""
		d.lines = d.lines[:0]
		d.addrs = make([]string, 0, len(info.Lines))
		for _, li := range info.Lines {
			d.addrs = append(d.addrs, li.DN)
			d.lines = append(d.lines, line{dn: li.DN, partition: li.Partition,
				observed: m.observed(li.DN), inService: info.InService, oosCause: d.oosCause})
			if _, dup := m.byDN[li.DN]; !dup {
				m.byDN[li.DN] = d
			}
			m.dnDevices[li.DN] = append(m.dnDevices[li.DN], d)
		}
		d.port, d.routeDN = nil, ""
		if pc, ok := m.cfg.CTIPorts[d.name]; ok && d.typ == ctilink.DeviceCTIPort {
			pc := pc
			d.port = &pc
		}
		if d.typ == ctilink.DeviceRoutePoint {
			for _, l := range d.lines {
				if _, ok := m.cfg.RoutePoints[l.dn]; ok {
					d.routeDN = l.dn
					break
				}
			}
		}
		devs = append(devs, d)
	}
	for _, d := range m.devices {
		if !d.seen {
			delete(m.byName, d.name)
			m.removed = append(m.removed, d)
		}
	}
	m.devices = devs
	// The pages are copied into the device table; release them.
	clear(m.listBuf)
	m.listBuf = nil
	if !m.everInService {
		for name := range m.cfg.CTIPorts {
			if d, ok := m.byName[name]; !ok || d.typ != ctilink.DeviceCTIPort {
				m.note(zerolog.WarnLevel, fmt.Sprintf("CTIPorts[%q] is not a CTI port of the control list; not registered", name), nil)
			}
		}
		for dn := range m.cfg.RoutePoints {
			if d, ok := m.byDN[dn]; !ok || d.typ != ctilink.DeviceRoutePoint {
				m.note(zerolog.WarnLevel, fmt.Sprintf("RoutePoints[%q] is not a route point address of the control list; no route callback", dn), nil)
			}
		}
	}
}

// queueOpens queues, per device, DeviceOpenRequest, LineOpenRequest for
// each line to observe, and the CTI port (same media parameters every
// time) or route point registration.
func (m *Machine) queueOpens() {
	m.openPending = 0
	for _, d := range m.devices {
		if !d.needsOpen() {
			continue
		}
		m.request(queuedReq{msg: ctilink.DeviceOpenRequest{Device: d.name}, kind: reqDeviceOpen, dev: d})
		m.openPending++
		for i := range d.lines {
			l := &d.lines[i]
			if !d.lineOpenWanted(l) {
				continue
			}
			m.request(queuedReq{msg: ctilink.LineOpenRequest{Device: d.name, Line: l.dn}, kind: reqLineOpen, dev: d, line: i})
			m.openPending++
		}
		switch {
		case d.port != nil:
			m.request(queuedReq{msg: ctilink.CTIPortRegisterRequest{Device: d.name, Dynamic: d.port.Dynamic, Media: d.port.Media},
				kind: reqCTIPortRegister, dev: d})
			m.openPending++
		case d.routeDN != "":
			m.request(queuedReq{msg: ctilink.RoutePointRegisterRequest{Device: d.name}, kind: reqRoutePointRegister, dev: d})
			m.openPending++
		}
	}
}

func (m *Machine) requestOK(p pendingReq, _ time.Time) {
	switch p.kind {
	case reqDeviceOpen:
		p.dev.opened = true
	case reqLineOpen:
		if p.line < len(p.dev.lines) {
			p.dev.lines[p.line].opened = true
		}
	case reqCTIPortRegister, reqRoutePointRegister:
		p.dev.regOK = true
	}
}

func (m *Machine) requestFailed(p pendingReq, result ctilink.Result, text string, _ time.Time) {
	what := p.kind.String()
	if p.dev != nil {
		what += " " + p.dev.name
		if p.kind == reqLineOpen && p.line < len(p.dev.lines) {
			what += "/" + p.dev.lines[p.line].dn
		}
	}
	msg := fmt.Sprintf("%s refused: %s", what, result)
	if text != "" {
		msg += ": " + text
	}
	m.note(zerolog.WarnLevel, msg, nil)
	switch p.kind {
	case reqCTIPortRegister, reqRoutePointRegister:
		p.dev.regFailed = result.String()
		if text != "" {
			p.dev.regFailed += ": " + text
		}
	}
}

func (m *Machine) checkOpened(now time.Time) {
	if m.link == LinkOpeningDevices && m.openPending <= 0 && m.queueHead >= len(m.queue) {
		m.becomeInService(now)
	}
}

// becomeInService: ProvInServiceEv, then (least priority) the
// least-priority event, then every device reinstated — route callbacks,
// address then terminal in-service events — then the held-back call
// messages, then a snapshot request for every opened device except route
// points.
func (m *Machine) becomeInService(now time.Time) {
	reinstating := m.everInService
	m.everInService = true
	m.out.Events = slices.Grow(m.out.Events, 2*len(m.devices)+8)
	m.failedRounds = 0
	m.lastNode = m.node
	m.lastErr = ""
	cm := m.cfg.CTIManagers[m.node]
	m.setProvider(ProviderInService, "devices opened on "+cm.Name)
	m.out.Measurements = append(m.out.Measurements, Measurement{Kind: MeasureProviderOpen, Duration: now.Sub(m.connectAt)})
	ev := m.providerEvent(schema.EvProvInService, now)
	ev.Data.Provider.ProviderID = m.providerID
	ev.Data.Provider.Devices = len(m.devices)
	ev.Data.Provider.LeastPriority = cm.LeastPriority
	ev.Data.Provider.ServerHeartbeatMs = m.serverHB.Milliseconds()
	ev.Data.Provider.ClientHeartbeatMs = m.clientHB.Milliseconds()
	m.emit(ev)
	if cm.LeastPriority {
		m.onLP = true
		m.primReachable = false
		ev := m.providerEvent(schema.EvCiscoProvConnToLeastPriorCtiServer, now)
		ev.Data.Provider.LeastPriority = true
		m.emit(ev)
		m.arm(TimerProbe, now.Add(m.cfg.ProviderRetryInterval))
	} else {
		m.onLP = false
	}
	for _, d := range m.removed {
		for i := range d.lines {
			m.emit(m.addressEvent(schema.EvCiscoAddrRemoved, d, &d.lines[i], 0, now))
		}
		m.emit(m.terminalEvent(schema.EvCiscoTermRemoved, d, 0, now))
	}
	for _, d := range m.created {
		m.emit(m.terminalEvent(schema.EvCiscoTermCreated, d, 0, now))
		for i := range d.lines {
			m.emit(m.addressEvent(schema.EvCiscoAddrCreated, d, &d.lines[i], 0, now))
		}
	}
	m.created, m.removed = m.created[:0], m.removed[:0]
	for _, d := range m.devices {
		if d.routeDN != "" && d.regOK {
			reg := true
			rev := m.newEvent(schema.FamilyRoute, d.routeDN, schema.EvRouteRegistered, now, now)
			rev.Data.Route = &schema.RouteData{Address: d.routeDN, Terminal: d.name, Registered: &reg, CallbackKept: d.everReg}
			m.emit(rev)
			d.everReg = true
		}
		if d.port != nil && d.regOK {
			d.everReg = true
		}
		if d.regFailed != "" {
			tev := m.terminalEvent(schema.EvCiscoTermRegistrationFailed, d, 0, now)
			tev.Data.Terminal.State = ""
			m.emit(tev)
		}
	}
	for _, d := range m.devices {
		cause := oosCause(d)
		for i := range d.lines {
			l := &d.lines[i]
			if !l.observed {
				continue
			}
			if l.inService {
				m.emit(m.addressEvent(schema.EvCiscoAddrInService, d, l, 0, now))
			} else if !reinstating {
				m.emit(m.addressEvent(schema.EvCiscoAddrOutOfService, d, l, cause, now))
			}
		}
		if d.observed {
			if d.inService {
				m.emit(m.terminalEvent(schema.EvCiscoTermInService, d, 0, now))
			} else if !reinstating {
				m.emit(m.terminalEvent(schema.EvCiscoTermOutOfService, d, cause, now))
			}
		}
	}
	m.setLink(LinkSnapshotting, "provider in service", now)
	m.flushBuffered()
	m.snapPending = 0
	for _, d := range m.devices {
		if !d.opened || d.typ == ctilink.DeviceRoutePoint {
			continue
		}
		any := false
		for i := range d.lines {
			if d.lines[i].opened {
				any = true
				break
			}
		}
		if !any {
			continue
		}
		m.request(queuedReq{msg: ctilink.SnapshotRequest{Device: d.name}, kind: reqSnapshot, dev: d})
		m.snapPending++
	}
	m.pump(now)
	m.checkSnapshots(now)
}

// oosCause is the CiscoOutOfServiceEv cause for a device reported out of
// service by the device list.
func oosCause(d *device) int {
	if !d.registered {
		return schema.OOSCauseDeviceUnregistered
	}
	return schema.OOSCauseCallManagerFailure
}

func (m *Machine) checkSnapshots(now time.Time) {
	if m.link == LinkSnapshotting && m.snapPending <= 0 && m.queueHead >= len(m.queue) {
		m.becomeUp(now)
	}
}

// becomeUp: every snapshot is in. After a gap, the gap closes (gap.go);
// after a fallback, the fallback completes.
func (m *Machine) becomeUp(now time.Time) {
	m.setLink(LinkUp, "snapshots completed", now)
	m.closeGap(now)
	if m.fallingBack {
		m.fallingBack = false
		if !m.onLP {
			ev := m.providerEvent(schema.EvCiscoProvFallbackToPrimNwCompltd, now)
			m.emit(ev)
		}
	}
}

func (m *Machine) deviceService(v ctilink.DeviceServiceEvent, now time.Time) {
	d, ok := m.byName[v.Device]
	if !ok {
		return
	}
	d.inService, d.oosCause = v.InService, v.Reason.JTAPICause()
	if !d.observed || m.prov != ProviderInService || m.link == LinkOpeningDevices {
		return
	}
	up := time.Unix(0, v.TimeNs)
	if v.InService {
		m.emitAt(m.terminalEvent(schema.EvCiscoTermInService, d, 0, now), up)
	} else {
		m.emitAt(m.terminalEvent(schema.EvCiscoTermOutOfService, d, v.Reason.JTAPICause(), now), up)
	}
}

func (m *Machine) lineService(v ctilink.LineServiceEvent, now time.Time) {
	d, ok := m.byName[v.Device]
	if !ok {
		return
	}
	l := d.line(v.Line)
	if l == nil {
		return
	}
	l.inService, l.oosCause = v.InService, v.Reason.JTAPICause()
	if !l.observed || m.prov != ProviderInService || m.link == LinkOpeningDevices {
		return
	}
	up := time.Unix(0, v.TimeNs)
	if v.InService {
		m.emitAt(m.addressEvent(schema.EvCiscoAddrInService, d, l, 0, now), up)
	} else {
		m.emitAt(m.addressEvent(schema.EvCiscoAddrOutOfService, d, l, v.Reason.JTAPICause(), now), up)
	}
}

func (m *Machine) deviceRegistration(v ctilink.DeviceRegistrationEvent, now time.Time) {
	d, ok := m.byName[v.Device]
	if !ok {
		return
	}
	d.registered = v.Registered
	if v.CallManager != "" {
		d.callManager = v.CallManager
	}
	if !d.observed || m.prov != ProviderInService || m.link == LinkOpeningDevices {
		return
	}
	name := schema.EvCiscoProvTerminalUnRegistered
	if v.Registered {
		name = schema.EvCiscoProvTerminalRegistered
	}
	m.emitAt(m.terminalEvent(name, d, 0, now), time.Unix(0, v.TimeNs))
}
