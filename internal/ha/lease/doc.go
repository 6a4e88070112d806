// Package lease is the pure core of the bridge's leader lease: which
// operation to run against the lease store (campaign with Create, renew
// with Update at the last revision), when, what each result means, and
// until when the holder may act as the active bridge.
//
// It does no I/O and reads no clock: every input carries the time it
// happened, every output says what to do and when to be called again, so
// every rule is tested with explicit instants (a fake clock) instead of
// sleeps. internal/ha drives it against a JetStream KV bucket.
//
// # Rules
//
//   - Only the result of a Create or an Update decides leadership, never a
//     read: a standby campaigns with Create (it succeeds only when the key
//     is absent, i.e. the previous holder released it or its last write
//     expired with the bucket's TTL); the holder renews with Update at the
//     revision of its last successful write. A conflict on either means
//     someone else holds the lease.
//   - The holder's right to act ends at its deadline: the instant the last
//     successful Create or Update was *sent*, plus the TTL, minus a safety
//     margin. The server stored that write no earlier than it was sent, so
//     it cannot expire the key (and let another instance Create it) before
//     sent+TTL; the margin absorbs clock-rate differences and the time the
//     holder needs to stop (close its provider). Times are Go times with
//     their monotonic reading, so a wall-clock step or a process paused by
//     SIGSTOP and resumed late cannot extend the deadline: on resume the
//     deadline is already past.
//   - An operation whose outcome is unknown (timeout, disconnection) does
//     not end the lease: the holder keeps trying to renew until its
//     deadline. A later conflict after an unknown outcome is still a loss
//     (the write may have been stored, but a read would be needed to tell,
//     and reads decide nothing); the lease then expires on the server and
//     another instance takes it.
//   - Renewals are due every RenewEvery (default 0.4 × TTL, allowed 0.3–0.5
//     × TTL): with a TTL of 10 s, two renewals may fail before the holder
//     has to step down.
//
// # Usage
//
//	l, err := lease.New(lease.Config{TTL: 10 * time.Second})
//	l.SetCampaign(true, now)
//	for {
//		if op, ok := l.Next(now); ok {
//			res := run(op)                // kv.Create / kv.Update(op.Revision)
//			change := l.Done(op, res, now) // Acquired, Renewed, Lost ...
//		}
//		change := l.Tick(now)              // deadline checks
//		sleep until l.Wake(now)
//	}
//
// A Lease is not safe for concurrent use: one goroutine drives it. The
// driver publishes Deadline to other goroutines itself (internal/ha keeps it
// in an atomic so that the publisher can check it before every send).
package lease
