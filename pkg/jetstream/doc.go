// Package jetstream is the bridge's event log side: an embedded
// nats-server, connections to an external NATS server or cluster, stream
// and KV provisioning with drift reporting, the publisher that gets every
// event into JetStream exactly once and in per-entity order, and a reader
// for replay and tests.
//
// It imports nats.go's jetstream package as natsjs (same package name)
// and pkg/schema for the event types; it never imports the CTI engine.
// See docs/jetstream.md for the defaults and the reasoning behind them.
//
// # Usage
//
// Embedded mode (the default of `bridge demo`):
//
//	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: dir, Logger: log})
//	err = emb.Start()                 // clients on 127.0.0.1:4222 by default
//	nc, err := emb.Connect("bridge")  // in-process, reconnects across restarts
//	defer emb.Shutdown(ctx)
//
// External mode:
//
//	nc, err := jetstream.Connect(jetstream.ConnectConfig{
//		URLs: []string{"tls://nats1:4222", "tls://nats2:4222", "tls://nats3:4222"},
//		CredentialsFile: "bridge.creds", CAFile: "ca.pem",
//		OnEvent: func(ev jetstream.ConnEvent) { ... },
//	})
//
// Then provision and publish:
//
//	js, err := natsjs.New(nc)
//	res, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{Replicas: 1})
//	for _, d := range res.Drift {
//		log.Warn().Stringer("drift", d).Msg("stream configuration differs")
//	}
//	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: "lab"})
//	pub, err := jetstream.New(jetstream.Config{Conn: nc, Encoder: enc, Logger: log})
//	go pub.Run(ctx)
//	pub.Emit(ev)                        // or pub.PublishEncoded(msg), pub.Publish(jetstream.FromSchema(msg))
//	...
//	pub.Close()                         // graceful stop: no more input,
//	err = pub.Flush(shutdownCtx)        // wait for every ack,
//	cancel()                            // then stop Run.
//
// Provision creates the event stream in the current subject layout
// (schema.CallTransform stores a call event under its call; S2
// compression; the layout in the stream's metadata) and, with
// ProvisionConfig.StateView, the state view's bucket, and with
// ProvisionConfig.Leader (set by a bridge with high availability; or
// ProvisionLeader alone) the lease bucket. An existing
// stream of another layout is refused with a *LayoutError, never mixed.
//
// [ReadAll] reads a stream (or a filtered part) in order with an ordered
// consumer until nothing is pending.
//
// # Delivery guarantees
//
// The publisher is at-least-once towards the server and the stream makes
// it exactly-once: every message carries its CloudEvent id as
// Nats-Msg-Id, and any error or timeout on a publish means "unknown
// outcome" (the message may be stored although the ack was lost, e.g. on
// a disconnect), so the message is resent with the same id until an ack
// arrives; the server drops a repeat inside the stream's duplicate window
// and acks it as a duplicate. Exactly-once therefore holds for outages
// shorter than the duplicate window (10 minutes by default, see
// [ProvisionConfig.Duplicates]).
//
// Order: in normal operation messages go out pipelined in Publish order
// across all entities (up to [Config.MaxInFlight] in flight), so the
// stream holds the events in the order they were produced — a failover's
// events across calls, lines, terminals and the provider read in order.
// One connection keeps that order on the server, and after a disconnect
// the messages the server stored are a prefix of what was sent, so
// resending every failed message in order keeps the order too (the stored
// prefix is deduplicated).
//
// Per-entity order: messages with the same [Message.EntityKey] reach the
// stream in Publish order. From a failed publish until every message sent
// before the latest failure, and every resend, is resolved, the publisher
// runs in safe mode: each entity resends
// its oldest message first and has at most one message on the wire, and
// nothing new goes out before every failed message has been resent. The
// one case no client can undo — the server refusing a message (no
// responders while a stream loads, 429 under ingest pressure) while
// storing a later message of the same entity that was already in flight —
// is detected and counted in [Stats.Reordered] with an error log; the
// per-entity sequence extension of the events still orders them. On a
// replicated stream that case happens during elections, so there
// [Config.SerialPerEntity] keeps every entity serialized for good: order
// across entities is then not the production order, order per entity
// always is.
//
// Failed messages are resent before any message never sent, after a short
// pause (exponential backoff from [Config.RetryBackoff], reset by an ack).
// A message the server refuses for good (larger than the stream allows)
// is not retried: it is counted as rejected and reported like a drop.
// A message a replicated stream's leader refuses as "in process" at every
// send for [Config.StuckInProcess] (a stale dedupe id a nats-server
// defect leaves after an election) makes the publisher ask that leader to
// step down ([Config.Stream], [StepDownStreamLeader]; docs/jetstream.md).
//
// # Buffer and gaps
//
// [Publisher.Publish] never blocks and never waits for NATS: it appends to
// a bounded buffer ([Config.BufferSize] messages, [Config.BufferBytes]
// bytes). While NATS is unavailable messages accumulate and are delivered
// when it returns. If a bound is exceeded the oldest messages that were
// never sent are dropped (the newest are worth more to live consumers, and
// a message sent once may already be stored, so it is never counted as
// lost). Drops are never silent: they are counted ([Stats].Dropped), and as
// soon as the connection is back a PublishGap record (bridge family,
// subject cti.<cluster>.bridge.PublishGap) is published saying how many
// were dropped, the first and last dropped ids and the interval of their
// enqueue times. Gap records are themselves never dropped.
//
// # Concurrency
//
// Publish, Emit, Stats, Flush and Close are safe for concurrent use; Run
// must run in one goroutine. Publish takes a mutex briefly; the sending
// loop takes it once per batch of up to 256 messages and never holds it
// while calling nats.go (whose timeout callbacks run under the library's
// own lock). Acks and errors arrive on nats.go's goroutines; the
// [Config.AckLatency] and [Config.EventLatency] observers run there and
// must not block (EventLatency measures an emitted event from its CTI
// frame being read, AckLatency any message from its enqueue). The
// embedded server and the connection helpers are safe for concurrent use.
package jetstream
