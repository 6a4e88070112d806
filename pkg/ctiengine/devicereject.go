package ctiengine

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// rejectLogFirst bounds the warnings for rejected devices per device list:
// a control list of thousands of broken names gets that many lines and one
// summary, while every rejected device still gets its DeviceRejected event.
const rejectLogFirst = 10

// devicesRejected reports the devices of one DeviceListResponse page that
// the decoder dropped because they broke the link protocol's device rules
// (ctilink.DeviceInfo.Validate). One bad device must never keep the
// provider out of service: the others are tracked, opened and brought into
// service as usual, and the skipped one is named in a DeviceRejected event
// (provider family), a warning, and the devicesRejected counter.
func (m *Machine) devicesRejected(page int, rejected []ctilink.DeviceRejection, now time.Time) {
	for _, r := range rejected {
		m.stats.DevicesRejected++
		m.listRejected++
		detail := fmt.Sprintf("device %s (entry %d of device list page %d) skipped: %s; the other devices are brought into service",
			r.Name, r.Index, page, r.Reason)
		if m.listRejected <= rejectLogFirst {
			m.note(zerolog.WarnLevel, "control list: "+detail+"; correct the device in CUCM (or the simulator's cluster file)", nil)
		}
		ev := m.providerEvent(schema.EvDeviceRejected, now)
		ev.Data.Provider.Device = r.Name
		ev.Data.Provider.Detail = detail
		m.emit(ev)
	}
}

// devicesRejectedSummary ends a device list with one line for the
// rejections not logged one by one.
func (m *Machine) devicesRejectedSummary() {
	if m.listRejected > rejectLogFirst {
		m.note(zerolog.WarnLevel, fmt.Sprintf("control list: %d devices skipped in all for breaking the device rules (the first %d logged; each has a DeviceRejected event)",
			m.listRejected, rejectLogFirst), nil)
	}
}
