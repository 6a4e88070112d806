package traffic

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Media defaults used when a registration leaves them out.
const (
	DefaultCodec    = "G711Ulaw64k"
	DefaultPacketMs = 20
	phoneRTPBase    = 16384
)

// startCTIPort: A calls CTI port P (f.b); the simulator plays the IVR: P
// rings, answers, streams media with the registered parameters, and the
// call ends as a basic one. An unregistered (or busy, or out-of-service)
// port fails the call like busy.
func (m *Model) startCTIPort(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		p := f.b
		m.dialed(la, m.party(p), ctilink.Party{})
		media, dynamic, registered := m.hooks.CTIPort(m.lines[p].Device)
		if !registered || !m.reachable(f, p) {
			m.busyOut(f, la, nil)
			return
		}
		if len(media.Codecs) == 0 {
			media.Codecs = []string{DefaultCodec}
		}
		if media.PacketMs == 0 {
			media.PacketMs = DefaultPacketMs
		}
		f.media = media
		lp := m.offer(la, p, ctilink.ReasonDirectCall)
		f.lb = lp
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		if dynamic {
			m.emit(m.mediaEvent(f, ctilink.MediaOpenLogicalChannel, "", 0))
		}
		m.after(m.ringTime(), f, func() {
			m.answer(la, lp)
			phoneIP, phonePort := m.lines[f.a].ip, phoneRTPBase+2*int(la.handle%8192)
			m.emit(m.mediaEvent(f, ctilink.MediaRTPOutputStarted, phoneIP, phonePort))
			m.emit(m.mediaEvent(f, ctilink.MediaRTPInputStarted, f.media.IP, f.media.Port))
			m.after(m.talkTime(), f, func() {
				m.emit(m.mediaEvent(f, ctilink.MediaRTPOutputStopped, phoneIP, phonePort))
				m.emit(m.mediaEvent(f, ctilink.MediaRTPInputStopped, f.media.IP, f.media.Port))
				if f.calleeFirst {
					m.hangup(lp, la)
				} else {
					m.hangup(la, lp)
				}
			})
		})
	})
}

func (m *Model) mediaEvent(f *flow, kind, ip string, port int) ctilink.MediaEvent {
	ln := m.lines[f.b]
	return ctilink.MediaEvent{Kind: kind, Device: ln.Device, Line: ln.DN, GlobalCallID: f.call1.gid,
		CallHandle: f.lb.handle, IP: ip, Port: port, Codec: f.media.Codecs[0], PacketMs: f.media.PacketMs,
		TimeNs: m.nowNs()}
}
