package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

func (a *app) republishCmd() *cobra.Command {
	var to, speed, target, subject string
	var fromSeq, toSeq uint64
	c := &cobra.Command{
		Use:   "republish --to PREFIX [--speed 1x|10x|max]",
		Short: "Publish the events again under another subject prefix, paced by their times",
		Long: `republish reads the events and publishes each one again (core NATS, same
headers and data) on its subject with the leading "cti" replaced by PREFIX:
cti.lab.call.4711.ConnConnectedEv becomes PREFIX.lab.call.4711.ConnConnectedEv.
Consumers under test subscribe to PREFIX.> and see the incident again.

--speed paces the publishing by the events' CTI times: 1x is real time, 10x
ten times faster, max as fast as possible. The Nats-Msg-Id header is dropped,
so that a stream capturing PREFIX.> does not discard the copies as
duplicates. PREFIX "cti" is refused: it would write into the live subjects.
With --store, give --target: the NATS server to publish to.`,
		Example: `  replay --server nats://127.0.0.1:4222 republish --to replay --speed 10x
  replay --store ./data republish --to test.cti --speed max --target nats://127.0.0.1:4222`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			factor, err := parseSpeed(speed)
			if err != nil {
				return usageError{err}
			}
			if err := checkPrefix(to); err != nil {
				return usageError{err}
			}
			if a.storeDir != "" && target == "" {
				return usagef("with --store the events are read from a private copy: give --target URL, the server to republish to")
			}
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			nc := st.Conn()
			if target != "" {
				nc, err = nats.Connect(target, nats.Name("ctibridge-replay-republish"), nats.Timeout(5*time.Second))
				if err != nil {
					return fmt.Errorf("connect --target %s: %w", target, err)
				}
				defer nc.Close()
			}
			q := replaystore.Query{StartSeq: fromSeq, EndSeq: toSeq}
			switch {
			case subject != "":
				q.Subjects = []string{subject}
			case a.cluster != "":
				q.Subjects = []string{replaystore.ClusterSubjects(a.cluster)}
			}
			p := &pacer{speed: factor, sleep: sleepCtx}
			start := time.Now()
			var n uint64
			_, err = st.Read(ctx, q, func(m replaystore.Message) error {
				rest, ok := strings.CutPrefix(m.Subject, replaystore.SubjectRoot+".")
				if !ok {
					return nil
				}
				if factor > 0 {
					if _, ev, derr := schema.Decode(m.Header, m.Data); derr == nil {
						if err := p.wait(ctx, ev.Time); err != nil {
							return err
						}
					}
				}
				out := &nats.Msg{Subject: to + "." + rest, Header: nats.Header{}, Data: m.Data}
				for k, vs := range m.Header {
					if k != schema.HeaderMsgID {
						out.Header[k] = vs
					}
				}
				if err := nc.PublishMsg(out); err != nil {
					return fmt.Errorf("publish %s: %w", out.Subject, err)
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if err := nc.FlushTimeout(30 * time.Second); err != nil {
				return fmt.Errorf("flush: %w", err)
			}
			el := time.Since(start)
			if a.jsonOut {
				return writeJSON(a.stdout, map[string]any{"events": n, "to": to + ".>", "speed": speed, "durationMs": el.Milliseconds()})
			}
			fmt.Fprintf(a.stdout, "republished %d events to %s.> in %s (speed %s)\n", n, to, el.Round(time.Millisecond), speed)
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "subject prefix replacing \"cti\" (required)")
	c.Flags().StringVar(&speed, "speed", "1x", "pacing: 1x (real time), 10x, 0.5x, ... or max")
	c.Flags().StringVar(&target, "target", "", "NATS server to publish to (default: the --server connection)")
	c.Flags().StringVar(&subject, "subject", "", "NATS subject filter (default: the --cluster's events, else every event)")
	c.Flags().Uint64Var(&fromSeq, "from-seq", 0, "first stream sequence")
	c.Flags().Uint64Var(&toSeq, "to-seq", 0, "last stream sequence")
	_ = c.MarkFlagRequired("to")
	return c
}

// parseSpeed reads --speed: "max" (0: no pacing) or a positive factor
// with an optional "x".
func parseSpeed(s string) (float64, error) {
	if strings.EqualFold(s, "max") {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(s), "x"), 64)
	if err != nil || f <= 0 || f > 1e6 {
		return 0, fmt.Errorf("--speed %q: use 1x, 10x, 0.5x, ... or max", s)
	}
	return f, nil
}

func checkPrefix(p string) error {
	if p == "" {
		return fmt.Errorf("--to is required: the subject prefix replacing \"cti\"")
	}
	if p == replaystore.SubjectRoot {
		return fmt.Errorf("--to %q would publish into the live event subjects: choose another prefix, e.g. replay", p)
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("--to %q is not a subject prefix: dot-separated tokens without wildcards or spaces", p)
		}
	}
	return nil
}

// pacer spaces publishes like the events' times, divided by speed.
type pacer struct {
	speed   float64
	sleep   func(context.Context, time.Duration) error
	started bool
	first   time.Time
	elapsed time.Duration // scaled event time already waited for
}

// wait sleeps until the event at t is due. Events out of time order go at
// once.
func (p *pacer) wait(ctx context.Context, t time.Time) error {
	if p.speed <= 0 || t.IsZero() {
		return nil
	}
	if !p.started {
		p.started, p.first = true, t
		return nil
	}
	due := time.Duration(float64(t.Sub(p.first)) / p.speed)
	if due <= p.elapsed {
		return nil
	}
	d := due - p.elapsed
	p.elapsed = due
	return p.sleep(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
