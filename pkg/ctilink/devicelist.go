package ctilink

import (
	"encoding/json"
	"strconv"
)

// DeviceRejection is a device entry the receiver dropped from a
// DeviceListResponse page because it broke DeviceInfo.Validate. Rejections
// never cross the wire: DecodeBody fills DeviceListResponse.Rejected so that
// one bad device costs that device only, never the page or the provider
// (docs/protocol.md §9.3).
type DeviceRejection struct {
	// Index is the entry's position in its page (from 0).
	Index int
	// Name is the device name as received, Go-quoted with every byte
	// outside printable ASCII escaped and cut to MaxNameLen bytes of the
	// original: safe to log and to publish whatever the peer sent.
	Name string
	// Reason names every rule the entry broke, on one line.
	Reason string
}

// QuoteName renders an identifier received from a peer for a log line or an
// event: Go-quoted, non-printable and non-ASCII bytes escaped, at most
// MaxNameLen bytes of the original (longer names end in "…" after the
// closing quote).
func QuoteName(name string) string {
	if len(name) <= MaxNameLen {
		return strconv.QuoteToASCII(name)
	}
	return strconv.QuoteToASCII(name[:MaxNameLen]) + "…"
}

// decodeDeviceList decodes a DeviceListResponse and moves every device that
// breaks DeviceInfo.Validate from Devices to Rejected, keeping the order of
// the others.
func decodeDeviceList(body []byte) (Message, error) {
	var v DeviceListResponse
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	kept := v.Devices[:0]
	for i, d := range v.Devices {
		if err := d.Validate(); err != nil {
			v.Rejected = append(v.Rejected, DeviceRejection{Index: i, Name: QuoteName(d.Name), Reason: oneLine(err)})
			continue
		}
		kept = append(kept, d)
	}
	v.Devices = kept
	return v, nil
}
