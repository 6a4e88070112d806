package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// envelopeBlock is the size of the blocks the file store compresses: S2
// finds repetitions within a block, so the marginal cost of a header is
// measured block by block too.
const envelopeBlock = 8 << 20

// BenchmarkEnvelopeShare measures what each CloudEvents header and each
// data field costs per event, as the NATS server stores it (record =
// subject + headers + data, S2 over 8 MiB blocks as the file store does
// with compression on): the raw bytes, and the bytes the compressed store
// saves without it. It answers which bytes of the envelope are worth
// removing once the stream is compressed. The events are the template's
// (the contact-centre mix, recordTemplate), encoded by the bridge's
// encoder on the stored subjects of layout 2.
//
//	go test -run '^$' -bench 'EnvelopeShare' -benchtime 1x ./internal/bench
func BenchmarkEnvelopeShare(b *testing.B) {
	b.StopTimer()
	tpl := recordTemplate(b, 2000, 3000, 200, 11)
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
	if err != nil {
		b.Fatal(err)
	}
	log := newCallLog(tpl)
	type record struct {
		subject string
		header  map[string]string
		data    map[string]json.RawMessage
	}
	var recs []record
	headers := map[string]bool{}
	fields := map[string]bool{}
	for range len(tpl.head) + len(tpl.calls) {
		ev := log.next()
		m, err := enc.Encode(&ev, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		r := record{subject: schema.StoredSubject(benchCluster, &ev), header: map[string]string{}}
		for k, v := range m.Header {
			r.header[k] = v[0]
			headers[k] = true
		}
		if err := json.Unmarshal(m.Data, &r.data); err != nil {
			b.Fatal(err)
		}
		for k := range r.data {
			fields[k] = true
		}
		// The call section's fields, one level down.
		if c, ok := r.data["call"]; ok {
			var call map[string]json.RawMessage
			_ = json.Unmarshal(c, &call)
			for k := range call {
				fields["call."+k] = true
			}
		}
		recs = append(recs, r)
	}
	n := float64(len(recs))
	// Each record's header lines and data, serialised once; a part left
	// out re-serialises only the records that have it.
	type serialised struct{ header, data []byte }
	base := make([]serialised, len(recs))
	for i, r := range recs {
		var h bytes.Buffer
		for _, k := range sortedKeys(r.header) {
			h.WriteString(k + ": " + r.header[k] + "\r\n")
		}
		base[i] = serialised{h.Bytes(), dataWithout(r.data, "")}
	}
	// store serialises the records as the server stores them, leaving out
	// one header or one data field, and returns the raw and S2 sizes.
	store := func(dropHeader, dropField string) (raw, compressed int) {
		var all bytes.Buffer
		for i, r := range recs {
			all.WriteString(r.subject)
			all.WriteString("NATS/1.0\r\n")
			if _, ok := r.header[dropHeader]; ok {
				for _, k := range sortedKeys(r.header) {
					if k != dropHeader {
						all.WriteString(k + ": " + r.header[k] + "\r\n")
					}
				}
			} else {
				all.Write(base[i].header)
			}
			all.WriteString("\r\n")
			if dropField != "" && hasField(r.data, dropField) {
				all.Write(dataWithout(r.data, dropField))
			} else {
				all.Write(base[i].data)
			}
			all.WriteString("0123456789abcdef0123") // the store's per-record framing (sequence, time, lengths, hash)
		}
		raw = all.Len()
		for blk := all.Bytes(); len(blk) > 0; {
			k := min(len(blk), envelopeBlock)
			compressed += len(s2.Encode(nil, blk[:k]))
			blk = blk[k:]
		}
		return raw, compressed
	}
	baseRaw, baseS2 := store("", "")
	var rows []string
	for _, h := range sortedKeys(headers) {
		raw, z := store(h, "")
		rows = append(rows, fmt.Sprintf("| header `%s` | %.1f | %.1f |", h, float64(baseRaw-raw)/n, float64(baseS2-z)/n))
	}
	for _, f := range sortedKeys(fields) {
		raw, z := store("", f)
		rows = append(rows, fmt.Sprintf("| data `%s` | %.1f | %.1f |", f, float64(baseRaw-raw)/n, float64(baseS2-z)/n))
	}
	b.ReportMetric(float64(baseRaw)/n, "raw-B/event")
	b.ReportMetric(float64(baseS2)/n, "s2-B/event")
	fmt.Printf("\n%d events of %d calls: %.0f B per event stored raw, %.0f B with S2 (%.1f×)\n\n| part | raw B/event | S2 B/event saved without it |\n|---|---|---|\n%s\n",
		len(recs), tpl.ncalls, float64(baseRaw)/n, float64(baseS2)/n, float64(baseRaw)/float64(baseS2), strings.Join(rows, "\n"))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// dataWithout re-marshals the data without one field ("call.x" for a
// field of the call section), every object in sorted key order (the
// baseline, drop "", too: the same order for both).
func dataWithout(d map[string]json.RawMessage, drop string) []byte {
	out := map[string]json.RawMessage{}
	for k, v := range d {
		if k == drop {
			continue
		}
		if k == "call" {
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) == nil {
				if sub, ok := strings.CutPrefix(drop, "call."); ok {
					delete(inner, sub)
				}
				v, _ = json.Marshal(inner)
			}
		}
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return b
}

// hasField reports whether the data holds the field ("call.x" inside the
// call section).
func hasField(d map[string]json.RawMessage, field string) bool {
	if sub, ok := strings.CutPrefix(field, "call."); ok {
		var inner map[string]json.RawMessage
		return json.Unmarshal(d["call"], &inner) == nil && inner[sub] != nil
	}
	return d[field] != nil
}
