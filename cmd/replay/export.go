package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"slices"
	"strings"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

func (a *app) exportCmd() *cobra.Command {
	var format, subject, out string
	var fromSeq, toSeq uint64
	c := &cobra.Command{
		Use:   "export --format jsonl",
		Short: "Export events as JSON Lines, one structured CloudEvent per line",
		Long: `export writes the events of the stream, in stream order, as JSON Lines: one
CloudEvent per line in the JSON event format (structured mode), exactly the
attributes and data stored (binary-mode messages are converted from their
ce- headers; structured ones are copied). Messages that are not CloudEvents
are skipped and counted on stderr.`,
		Example: `  replay --store ./data export --format jsonl > events.jsonl
  replay export --format jsonl --subject 'cti.lab.call.>' --from-seq 1000 -o calls.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" {
				return usagef("--format %q: only jsonl is supported", format)
			}
			if toSeq > 0 && fromSeq > toSeq {
				return usagef("--from-seq %d is after --to-seq %d", fromSeq, toSeq)
			}
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			q := replaystore.Query{StartSeq: fromSeq, EndSeq: toSeq}
			switch {
			case subject != "":
				q.Subjects = []string{subject}
			case a.cluster != "":
				q.Subjects = []string{schema.ClusterFilter(a.cluster)}
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
			prog, done := a.progress("exporting", 50_000)
			var n, skipped uint64
			_, err = st.Read(ctx, q, func(m replaystore.Message) error {
				line, ok, err := structuredJSON(m)
				if err != nil {
					return err
				}
				if !ok {
					skipped++
					return nil
				}
				n++
				if prog != nil {
					prog(n, m.Pending)
				}
				bw.Write(line)
				return bw.WriteByte('\n')
			})
			done()
			if err != nil {
				return err
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
				fmt.Fprintf(a.stderr, "replay: skipped %d messages that are not CloudEvents\n", skipped)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "jsonl", "output format (jsonl)")
	c.Flags().StringVar(&subject, "subject", "", "NATS subject filter (default: the --cluster's events, else every event)")
	c.Flags().Uint64Var(&fromSeq, "from-seq", 0, "first stream sequence")
	c.Flags().Uint64Var(&toSeq, "to-seq", 0, "last stream sequence")
	c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return c
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
