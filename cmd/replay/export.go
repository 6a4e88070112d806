package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// exportLagMargin is how far before --since, on the stored clock, export
// starts reading: an event is stored a little after it happened (more
// during a NATS outage, and with clocks apart), and the filter itself is on
// the time it happened.
const exportLagMargin = time.Minute

func (a *app) exportCmd() *cobra.Command {
	var format, subject, out, since, until string
	var fromSeq, toSeq uint64
	c := &cobra.Command{
		Use:   "export [--format jsonl|csv]",
		Short: "Export events as JSON Lines (structured CloudEvents) or CSV",
		Long: `export writes the events of the stream, in stream order.

--format jsonl (default): one CloudEvent per line in the JSON event format
(structured mode), exactly the attributes and data stored (binary-mode
messages are converted from their ce- headers; structured ones are copied).
Messages that are not CloudEvents are skipped and counted on stderr.

--format csv: one row per event with a header row: seq, time, family,
entity, event, the CUCM global call id as CDRs carry it
(globalCallID_callManagerId, globalCallID_callId), the calling and called
numbers, the connection's address and states, the terminal, the cause and
the CallControl cause with their JTAPI names, the snapshot and inferred
flags, the provider session, the CTIManager and the CloudEvent id. Times are
RFC 3339 with every digit, in the --tz zone. Messages that are not events
are skipped and counted on stderr.

--since and --until select the events that happened in the interval (the
timeline's clock: the CTI time, the time received for snapshot events);
times as for state --at. --subject, --from-seq and --to-seq narrow by
subject and stream sequence.`,
		Example: `  replay --store ./data export --format jsonl > events.jsonl
  replay --store ./data export --format csv --since 14:00 --until 14:30 -o incident.csv
  replay export --format jsonl --subject 'cti.lab.call.>' --from-seq 1000 -o calls.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" && format != "csv" {
				return usagef("--format %q: give jsonl or csv", format)
			}
			if toSeq > 0 && fromSeq > toSeq {
				return usagef("--from-seq %d is after --to-seq %d", fromSeq, toSeq)
			}
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			from, to, err := a.interval(ctx, st, since, until)
			if err != nil {
				return err
			}
			q := replaystore.Query{StartSeq: fromSeq, EndSeq: toSeq}
			switch {
			case subject != "":
				q.Subjects = []string{subject}
			case a.cluster != "":
				if _, err := a.clusterOf(ctx, st); err != nil {
					return err
				}
				q.Subjects = []string{replaystore.ClusterSubjects(a.cluster)}
			}
			if !from.IsZero() && fromSeq == 0 {
				q.StartTime = from.Add(-exportLagMargin)
			}
			var w io.Writer = a.stdout
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.Create(out); err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 1<<16)
			var cw *csv.Writer
			if format == "csv" {
				cw = csv.NewWriter(bw)
				if err := cw.Write(csvHeader); err != nil {
					return err
				}
			}
			prog, done := a.progress("exporting", 50_000)
			var n, skipped uint64
			after := 0 // events in a row that happened after --until
			timed := !from.IsZero() || !to.IsZero()
			_, err = st.Read(ctx, q, func(m replaystore.Message) error {
				if prog != nil {
					prog(n, m.Pending)
				}
				var ev *schema.Event
				var env schema.Envelope
				if cw != nil || timed {
					var e schema.Event
					var err error
					if env, e, err = schema.Decode(m.Header, m.Data); err != nil {
						skipped++
						return nil
					}
					ev = &e
					at := replaystore.EventTime(ev)
					if !to.IsZero() && at.After(to) {
						if after++; after >= replaystore.ReorderSpan {
							return replaystore.ErrStop
						}
						return nil
					}
					after = 0
					if !from.IsZero() && at.Before(from) {
						return nil
					}
				}
				if cw != nil {
					n++
					return cw.Write(a.csvRow(m, env.ID, ev))
				}
				line, ok, err := structuredJSON(m)
				if err != nil {
					return err
				}
				if !ok {
					skipped++
					return nil
				}
				n++
				bw.Write(line)
				return bw.WriteByte('\n')
			})
			done()
			if err != nil {
				return err
			}
			if cw != nil {
				cw.Flush()
				if err := cw.Error(); err != nil {
					return err
				}
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
			}
			if skipped > 0 {
				fmt.Fprintf(a.stderr, "replay: skipped %d messages that are not events\n", skipped)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl (structured CloudEvents) or csv")
	c.Flags().StringVar(&subject, "subject", "", "NATS subject filter (default: the --cluster's events, else every event)")
	c.Flags().Uint64Var(&fromSeq, "from-seq", 0, "first stream sequence")
	c.Flags().Uint64Var(&toSeq, "to-seq", 0, "last stream sequence")
	c.Flags().StringVar(&since, "since", "", "only events that happened at or after this time")
	c.Flags().StringVar(&until, "until", "", "only events that happened at or before this time")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return c
}

// csvHeader names the CSV columns; the global call id columns carry the
// names of the CUCM CDR fields they correlate with.
var csvHeader = []string{"seq", "time", "family", "entity", "event",
	"globalCallID_callManagerId", "globalCallID_callId", "calling", "called",
	"address", "connection_state", "callcontrol_state", "terminal", "terminal_state",
	"cause", "cause_name", "callcontrol_cause", "callcontrol_cause_name",
	"snapshot", "inferred", "session", "ctimanager", "id"}

func (a *app) csvRow(m replaystore.Message, id string, ev *schema.Event) []string {
	d := &ev.Data
	row := make([]string, len(csvHeader))
	row[0] = strconv.FormatUint(m.Seq, 10)
	row[1] = a.clk.exact(replaystore.EventTime(ev))
	row[2], row[3], row[4] = string(ev.Family), ev.Entity, ev.Name
	if cd := d.Call; cd != nil {
		row[5], row[6] = cd.CallManager, cd.CallID
		if cd.Calling != nil {
			row[7] = cd.Calling.Address
		}
		if cd.Called != nil {
			row[8] = cd.Called.Address
		}
		if cn := cd.Connection; cn != nil {
			row[9], row[10], row[11] = cn.Address, cn.State, cn.CallControlState
		}
		if tc := cd.TerminalConnection; tc != nil {
			row[12], row[13] = tc.Terminal, tc.CallControlState
			if row[9] == "" {
				row[9] = tc.Address
			}
		}
	}
	if t := d.Terminal; t != nil {
		row[12], row[13] = t.Name, t.State
	}
	if ad := d.Address; ad != nil {
		row[9], row[10] = ad.DN, ad.State
		if row[12] == "" {
			row[12] = ad.Terminal
		}
	}
	if d.Cause != 0 {
		row[14], row[15] = strconv.Itoa(d.Cause), firstNonEmpty(d.CauseName, schema.CauseNames[d.Cause])
	}
	if d.CallControlCause != 0 {
		row[16], row[17] = strconv.Itoa(d.CallControlCause), schema.CauseNames[d.CallControlCause]
	}
	row[18], row[19] = strconv.FormatBool(d.Snapshot), strconv.FormatBool(d.Inferred)
	row[20], row[21] = ev.Session, ev.CTIManager
	row[22] = id
	return row
}

// attrOrder is the order of the context attributes in an exported line;
// extensions follow in name order, then the data.
var attrOrder = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}

// structuredJSON renders a stored message as one structured-mode
// CloudEvent (JSON event format). ok is false for a message that is not a
// CloudEvent.
func structuredJSON(m replaystore.Message) (line []byte, ok bool, err error) {
	for k, vs := range m.Header {
		if strings.EqualFold(k, schema.HeaderContentType) && len(vs) > 0 && strings.HasPrefix(strings.ToLower(vs[0]), "application/cloudevents") {
			var buf bytes.Buffer
			if err := json.Compact(&buf, m.Data); err != nil {
				return nil, false, nil
			}
			return buf.Bytes(), true, nil
		}
	}
	attrs := map[string]string{}
	for k, vs := range m.Header {
		if len(k) <= 3 || !strings.EqualFold(k[:3], "ce-") || len(vs) == 0 {
			continue
		}
		v, err := schema.PercentDecode(vs[0])
		if err != nil {
			return nil, false, nil
		}
		attrs[strings.ToLower(k[3:])] = v
	}
	if attrs["specversion"] == "" {
		return nil, false, nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	put := func(k string, raw []byte) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(raw)
	}
	str := func(v string) []byte {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return bytes.TrimRight(sb.Bytes(), "\n")
	}
	for _, k := range attrOrder {
		if v, ok := attrs[k]; ok {
			put(k, str(v))
			delete(attrs, k)
		}
	}
	ext := make([]string, 0, len(attrs))
	for k := range attrs {
		if k == "data" || k == "data_base64" {
			continue // reserved member names, never attributes
		}
		ext = append(ext, k)
	}
	slices.Sort(ext)
	for _, k := range ext {
		put(k, str(attrs[k]))
	}
	if len(m.Data) > 0 {
		ct := ""
		for k, vs := range m.Header {
			if strings.EqualFold(k, "ce-datacontenttype") && len(vs) > 0 {
				ct, _ = schema.PercentDecode(vs[0])
			}
		}
		mt, _, _ := mime.ParseMediaType(ct)
		if (ct == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(m.Data) {
			var cb bytes.Buffer
			_ = json.Compact(&cb, m.Data)
			put("data", cb.Bytes())
		} else {
			put("data_base64", str(base64.StdEncoding.EncodeToString(m.Data)))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), true, nil
}
