// Package callstate folds the bridge's events back into provider,
// CTIManager, terminal, address, call and route state: the consumer-side
// projection of the event log (PRODUCT.md §5.3).
//
// It is pure: it knows the domain events of pkg/schema and nothing of NATS,
// so any service can feed it from a JetStream consumer, a file, or a test.
// pkg/replaystore and cmd/replay use it to rebuild state at a point in time.
//
// # Usage
//
//	st := callstate.New()
//	for each message of the stream, in stream order {
//		_, ev, err := schema.Decode(msg.Headers(), msg.Data())
//		if err != nil { ... }
//		st.Apply(ev)
//	}
//	for _, c := range st.Calls() {
//		fmt.Println(c.ID, c.Parties())
//	}
//
// Apply is deterministic: the same events in the same order give the same
// state, byte for byte once marshalled. The state can be saved with
// MarshalJSON (or MarshalBinary) and restored with UnmarshalJSON; folding
// the rest of the log into a restored snapshot gives the same state as
// folding the whole log.
//
// # What the fold does
//
//   - Provider: state (IN_SERVICE, OUT_OF_SERVICE, SHUTDOWN), the CTIManager
//     serving it and the previous one, the link state from the bridge's
//     CTIManagerConnecting/Connected/Lost/ConnectFailed events, the last
//     loss reason and last-heard time, least-priority status.
//   - Terminals and addresses: in or out of service with the cause of the
//     last outage, registration, media parameters, RTP activity.
//   - Calls: parties (calling, called, current, last redirecting) and
//     connections with both JTAPI state layers (core and call control),
//     each with its terminal connections. As in JTAPI, a connection that
//     becomes DISCONNECTED leaves the call and a call without connections
//     has ended (CallInvalidEv ends it too). Transient connections (the
//     masked party of a calling-party transformation) are kept but flagged
//     and excluded from Call.Parties and from the connection counts.
//   - Transfers and conferences: the feature in progress on the calls
//     concerned; CiscoCallChangedEv moves legs from the original call to
//     the surviving one.
//   - Route points: registration and open route sessions.
//   - Gaps: provider gaps (GapOpened/GapClosed with reconciliation counts)
//     and publish gaps.
//
// # Failover
//
// On a CTIManager loss the bridge emits CallObservationEndedEv for calls
// that are still up: the fold keeps such a call as it was known and flags
// it Unobserved (and SnapshotPending). After the reconnection the first
// snapshot event of the call (Data.Snapshot), or a live CallActiveEv
// re-opening it before its snapshots, replaces its connections: what
// follows lists the legs that still exist, so legs that ended during the
// gap disappear. A live event about the call also clears Unobserved;
// CallEndedDuringGap (inferred) removes the call; CallDiscoveredBySnapshot
// marks a call that began during the gap. GapClosed records the gap with
// its reconciliation counts.
//
// # Ordering
//
// The bridge keeps the order of the events of each entity (a call, a
// terminal, an address, the provider) but may store events of different
// entities out of their emission order. The fold only relies on the order
// within an entity: a call's state depends on the call's own events, a
// terminal's on the terminal's. Any prefix of the stream therefore folds to
// a state that is consistent entity by entity.
//
// # Concurrency
//
// A State is not safe for concurrent use: one goroutine applies events and
// queries it, or the caller serialises access. The query methods return
// copies that the caller may keep and modify.
package callstate
