// Package callmodel turns the simulator's line-level wire events
// (ctilink.CallStateEvent and friends) into the JTAPI event sequence a
// JTAPI application with call observers on the controlled addresses would
// see, tracking Call, Connection and TerminalConnection objects with their
// core and call-control states (jtapi-facts §10–§15, PRODUCT.md §3.3).
//
// It is pure: no goroutines, no clock reads, no I/O, no logging. Every
// output is a function of the inputs, so the same wire events always give
// the same JTAPI events.
//
// # Usage
//
//	m := callmodel.New(callmodel.Config{
//		Controlled: func(dn string) bool { return lines[dn] }, // lines whose events we receive
//		TerminalOf: func(dn string) string { return deviceOf[dn] },
//	})
//	for msg := range wireMessages {
//		for _, out := range m.Apply(msg) {
//			sink.Emit(stamp(out)) // the engine adds session, sequences, CTIManager, times
//		}
//	}
//	// CTIManager lost:
//	outs := m.EndObservation(now)
//	// ... reconnect, snapshot every device (Apply the Snapshot=true events) ...
//	outs, calls := m.Reconcile(now) // once every SnapshotCompleted arrived
//
// # Concurrency
//
// A Model is not safe for concurrent use; the engine calls it from its
// single goroutine. Pointers inside returned events may be shared between
// events and must be treated as read-only.
//
// # Objects
//
// A call is keyed by its global call id (the entity of every call event,
// as a decimal string). Within a call, a Connection is keyed by its
// address, and it has one TerminalConnection per terminal the address
// appears on in the call: a shared line (one directory number on several
// phones, guide G15-216/217) is one Connection with a TerminalConnection
// per phone, each driven by its own device's line events — all RINGING on
// an incoming call, the answering one ACTIVE/TALKING and the others
// PASSIVE/INUSE (wire REMOTEINUSE), a held call resumed from another phone
// (that one TALKING, the holder INUSE), a barge (two TALKING). One
// appearance's DISCONNECTED drops its TerminalConnection only; the
// Connection disconnects with the last. Connections are of three
// kinds:
//
//   - line connections: a line this session observes; its own wire events
//     drive it and it has a TerminalConnection on the line's device;
//   - synthesized connections: a far party whose line events do not reach
//     this session (not in Config.Controlled), built from the party
//     information of the wire events, without TerminalConnection;
//   - party connections: added and removed by CallPartyEvent (the transient
//     masked calling number), flagged Transient.
//
// The core state of a Connection and of a TerminalConnection is always
// derived from the call-control state by the normative mapping
// (schema.CoreConnState, schema.CoreTermConnState). A change that moves
// both layers delivers the core event then the call-control event; a
// change of the call-control layer only (DIALING → ESTABLISHED, TALKING →
// HELD) delivers only the call-control event. Every event's data shows the
// states after the change; ConnCreatedEv and TermConnCreatedEv show IDLE.
// Connections only move forward along the JTAPI 1.4 diagrams (originating
// IDLE→INITIATED→DIALING→NETWORK_REACHED→NETWORK_ALERTING→ESTABLISHED,
// terminating IDLE→OFFERED→QUEUED→ALERTING→ESTABLISHED,
// any→FAILED→DISCONNECTED, UNKNOWN in and out at any time); a wire state
// that would move one backwards changes nothing. DISCONNECTED and DROPPED are final:
// nothing is ever reported for a Connection after its disconnection (after
// an observation gap a call is described afresh, see Snapshots).
//
// # Wire state → JTAPI (the line's own connection)
//
// A connection heard of for the first time is created (ConnCreatedEv) and
// moved straight to the state below; its TerminalConnection likewise
// (TermConnCreatedEv). Columns: the line's CallControlConnection state,
// its CallControlTerminalConnection state ("-": none is created), and the
// state a synthesized far party moves to.
//
//	wire state              connection            terminal conn  far party
//	DIALTONE                INITIATED             TALKING        -
//	DIALING                 DIALING               TALKING        -
//	PROCEEDING, PROGRESSING ESTABLISHED (1)       TALKING        OFFERED
//	                        NETWORK_REACHED (2)
//	RINGBACK                ESTABLISHED (1)       TALKING        ALERTING
//	                        NETWORK_ALERTING (2)
//	OFFERING                OFFERED               -              ESTABLISHED
//	QUEUED, WAITING         QUEUED                -              ESTABLISHED
//	ACCEPTED                ALERTING              RINGING        ESTABLISHED
//	CONNECTED, WHISPER      ESTABLISHED           TALKING        ESTABLISHED
//	ONHOLD, ONHOLDPENDING,  ESTABLISHED           HELD           ESTABLISHED
//	TRANSFERONHOLD(PENDING)
//	REMOTEINUSE             ESTABLISHED           INUSE          ESTABLISHED
//	BUSY                    (busy treatment)      TALKING        FAILED
//	DISCONNECTED, IDLE      DISCONNECTED          DROPPED        (see teardown)
//	UNKNOWN                 UNKNOWN               UNKNOWN        -
//
// (1) when the far party is inside the cluster, observed or not: the
// originating connection is established as soon as the call is routed
// (jtapi-facts §12: CallCtlConnEstablishedEv(A) precedes ConnCreatedEv(B);
// JTAPI guide 15 p.1024 shows DIALING → ESTABLISHED for an in-cluster
// call) and RINGBACK adds nothing. (2) when it is outside the cluster (the
// wire marks the party External, reached through a trunk): the call left
// the switch's domain and JTAPI's network states apply (network.go). In
// both cases a far party whose events do not reach this session is
// synthesized (last column). With both lines controlled this gives
// exactly the jtapi-facts §12 "Basic call A→B" order: DIALTONE →
// CallActiveEv, ConnCreatedEv, ConnConnectedEv, CallCtlConnInitiatedEv,
// TermConnCreatedEv, TermConnActiveEv, CallCtlTermConnTalkingEv; DIALING →
// CallCtlConnDialingEv; PROCEEDING → CallCtlConnEstablishedEv; B OFFERING
// → ConnCreatedEv, ConnInProgressEv, CallCtlConnOfferedEv; B ACCEPTED →
// ConnAlertingEv, CallCtlConnAlertingEv, TermConnCreatedEv,
// TermConnRingingEv, CallCtlTermConnRingingEv; RINGBACK → nothing; B
// CONNECTED → ConnConnectedEv, CallCtlConnEstablishedEv, TermConnActiveEv,
// CallCtlTermConnTalkingEv; A CONNECTED → nothing.
//
// Hold is TALKING → HELD (CallCtlTermConnHeldEv only: both are core
// ACTIVE); resume is HELD → TALKING (CallCtlTermConnTalkingEv with the
// call-control cause UNHOLD 214).
//
// # Far parties that are not controlled
//
// The far party of a line's leg is the current called party for the
// originating leg (DIALTONE, DIALING, PROCEEDING, PROGRESSING, RINGBACK,
// BUSY, or Origin set) and the current calling party otherwise. When it is
// not controlled and the call has no connection for it, a synthesized
// Connection is created (no TerminalConnection) and moved forward with the
// line as in the table's last column: an originating observer sees the
// callee INPROGRESS/OFFERED at PROCEEDING, ALERTING at RINGBACK and
// CONNECTED/ESTABLISHED at CONNECTED, while its own connection goes
// ESTABLISHED at PROCEEDING (NETWORK_REACHED, NETWORK_ALERTING, then
// ESTABLISHED when the callee is outside the cluster); a terminating observer
// sees the caller CONNECTED/ESTABLISHED before its own connection is
// created. The far party's events come first when they cause the line's
// own change (callee ringing or answering) or when the line receives the
// call, after the line's events otherwise.
//
// Config.Controlled should name the lines whose events reach this session.
// When it names more (a line in the control list that is not observed),
// the model still copes: in every wire sequence a controlled far party's
// own events precede the line's RINGBACK, CONNECTED and terminating
// states, so a controlled far party still unknown at such a live state is
// synthesized too (snapshots excepted: they arrive device by device).
//
// A synthesized connection lives while some live line connection names it
// as its far party. When a line's far party changes without the old one's
// events (a transfer or redirect done elsewhere, seen from the
// transferred party's side), the old one is disconnected and then the new
// party created (guide Table 8: B dropped, then C created; a park is a
// transfer to the park number) — except a parked call leaving its park
// number, where the party it goes to is created first and the park
// number's connection disconnected after (guide p.1284) — with the cause
// of the feature in progress, else
// REDIRECTED (210) when the event carries redirect information, else
// TRANSFER (212). A masked calling number seen only on the terminating
// side (calling-party transformation, observer on B only) is thus the
// calling party Y, as JTAPI shows it (jtapi-facts §15).
//
// # Teardown, busy, failures
//
// A line's DISCONNECTED drops its TerminalConnection then disconnects its
// connection (TermConnDroppedEv, CallCtlTermConnDroppedEv,
// ConnDisconnectedEv, CallCtlConnDisconnectedEv). When no live line
// connection is left, the remaining synthesized and party connections are
// disconnected, then CallInvalidEv and CallObservationEndedEv are sent
// (jtapi-facts §12 teardown) and the call is forgotten. Late events for a
// forgotten call are ignored (the last 256 ended calls are remembered).
//
// Wire causes map to JTAPI causes as follows (Ev cause, CallCtl cause,
// failure; the table is schema.Q850Mappings, which replay shows beside the
// causes):
//
//	NOERROR 0, NORMALCALLCLEARING 16   NORMAL 100
//	USERBUSY 17                        NORMAL 100, BUSY 203, failure (busy treatment)
//	NOUSERRESPONDING 18,               NORMAL 100, CALL_NOT_ANSWERED 205
//	NOANSWERFROMUSER 19
//	UNALLOCATEDNUMBER 1                DEST_NOT_OBTAINABLE 103, failure
//	CALLREJECTED 21                    CALL_CANCELLED 102, failure
//	NETWORKOUTOFORDER 38,              NETWORK_NOT_OBTAINABLE 109, failure
//	TEMPORARYFAILURE 41
//	34, 47 (no circuit, resource)      RESOURCES_NOT_AVAILABLE 107, failure
//	42 (congestion)                    NETWORK_CONGESTION 108, failure
//	anything else                      UNKNOWN 101
//
// CALLMANAGER_FAILURE (508, not Q.850: CiscoCallEv.CAUSE_CALLMANAGER_FAILURE)
// comes with a line's UNKNOWN: the line's CallManager node failed during a
// connected call; the media go on but the leg is no longer observed or
// controlled (guide G15-67). Its connection and terminal connection go
// UNKNOWN and the line no longer keeps the call observed: a call left
// without another live line of this session ends its observation
// (CallObservationEndedEv, no CallInvalidEv) and is forgotten; otherwise
// the UNKNOWN connection is disconnected with the rest when the call ends.
// Every call event derived from a line event with a cause carries it as
// Data.CiscoCause (CiscoCallEv.getCiscoCause()).
//
// TEMPORARYFAILURE is what the simulator sends when a CallManager node
// fails and drops the calls in setup on its devices: from the
// application's side the part of the network handling the call became
// unobtainable, hence NETWORK_NOT_OBTAINABLE rather than
// RESOURCES_NOT_AVAILABLE (kept for the Q.850 resource causes). A
// DISCONNECTED with a failure cause first fails the connection
// (ConnFailedEv, CallCtlConnFailedEv), then drops it.
//
// Busy (wire BUSY, or a DISCONNECTED with USERBUSY not preceded by BUSY):
// the called party's connection fails with the CallCtl cause BUSY; it is
// created for the purpose when the call has none (a busy line gets no
// events for the call, even when it is controlled). When the called party
// is a live line of this session or already gone (a route point that gave
// up), the calling line's own connection fails instead. The caller's
// DISCONNECTED then drops the caller and the call ends, the failed party
// moving FAILED → DISCONNECTED: ConnFailedEv, CallCtlConnFailedEv,
// TermConnDroppedEv, CallCtlTermConnDroppedEv, ConnDisconnectedEv,
// CallCtlConnDisconnectedEv (caller), ConnDisconnectedEv,
// CallCtlConnDisconnectedEv (callee), CallInvalidEv — the §12 failed-call
// order.
//
// A line offered a call with the CiscoConnection reason REDIRECT,
// FORWARDALL, FORWARDBUSY or FORWARDNOANSWER gets the CallCtl cause
// REDIRECTED on its offer (featurereason.go). The wire's FeatureReason
// gives the cause of a change a CUCM feature made: REDIRECT → REDIRECTED,
// PICKUP → CALL_PICKUP, PARK and UNPARK → PARK; a leg that leaves the call
// for such a reason carries meta REMOVING_PARTY.
//
// Only call-control events (CallCtl* and the Cisco call events) carry a
// call-control cause; core events carry the Ev cause.
//
// # Meta codes
//
//	CALL_STARTING 128     setup states (DIALTONE … RINGBACK, OFFERING, ACCEPTED, QUEUED)
//	PROGRESS 129          CONNECTED, hold, resume and other mid-call changes
//	ADDITIONAL_PARTY 130  a party added by CallPartyEvent
//	REMOVING_PARTY 131    a party leaves and at least two stay (conference),
//	                      the route point's leg leaving on redirect, a
//	                      party removed by CallPartyEvent
//	ENDING 132            BUSY, DISCONNECTED, and everything a call's end reports
//	MERGING 133           while a conference is in progress on the call
//	TRANSFERRING 134      while a transfer is in progress on the call, and
//	                      far-party replacements inferred as transfers
//	SNAPSHOT 135          snapshot events (with cause SNAPSHOT 110)
//	UNKNOWN 136           CiscoTransferStartEv/EndEv, CiscoConferenceStartEv/EndEv
//	                      (guide Table 8)
//
// # Transfer and conference
//
// The JTAPI guide's consult transfer (Transfer Scenarios, Table 8, guide
// pp. 194–196) is reproduced event for event: CiscoTransferStartEv on
// the final call (meta UNKNOWN); the controller dropped from it; the
// destination created in it in its states (ConnCreatedEv, ConnConnectedEv,
// CallCtlConnEstablishedEv, TermConnCreatedEv, TermConnActiveEv,
// CallCtlTermConnTalkingEv); the controller then the destination dropped
// from the consult call, CallInvalidEv and CallObservationEndedEv of the
// consult call; CiscoTransferEndEv on the final call. The events between
// Start and End carry the cause TRANSFER 212 (call-control events) and
// meta TRANSFERRING; a conference the same with CiscoConferenceStartEv/
// EndEv, CONFERENCE 207 and MERGING (the controller retrieves the final
// call first: CallCtlTermConnTalkingEv, as in the guide's conference
// chart). FeatureEvent start/end give the Start and End events, once, on
// the primary (final) call when it is tracked, else on the consult call;
// CTIManager sends them to the sessions of every involved line
// (FeatureEvent.Parties). CallChangedEvent during a feature creates the
// moved line's connection in the surviving call and leaves it in the
// original call, marked moved, until that call is cleared (after the
// parties that stay); outside a feature it is a CiscoCallChangedEv on the
// surviving call (OriginalCallID = the other call) and the connection
// leaves the original call at once. A surviving call the model does not
// know is created with CallActiveEv. While a feature runs its final call
// stays even when no line of this session is in it for a moment (the
// controller left, the destination joins next). A FeatureEvent end with
// Failed (a party dropped before the transfer completed) gives the End
// event with FeatureData.Failed (JTAPI CiscoTransferEndEv.isSuccess()
// false, guide: Transfer and DirectTransfer); the calls stay as they are.
// CiscoConsultCallActiveEv is not produced: the jar defines it (a
// CallActiveEv naming the held terminal connection), but the guide's
// transfer and conference tables do not list it, and the wire does not
// say that a call is a consult call before the feature starts.
//
// # Route points and CTI ports
//
// RouteEvent kinds give RouteEvent, ReRouteEvent, RouteUsedEvent and
// RouteEndEvent (FamilyRoute, entity = the route point's DN, RouteData with
// the session, call, parties, selection and RouteSession cause:
// NO_ERROR 100, ROUTING_TIMER_EXPIRED 101, …). RouteUsed marks the call as
// being redirected: the route point's connection then leaves with
// REDIRECTED 210, the call does not end with it, and the destination's
// OFFERING (reason REDIRECT) is offered with REDIRECTED and
// ConnectionData.Reason "REDIRECT". RouteEnd clears the mark. The route
// point's connection has no TerminalConnection (it is offered, never
// answered).
//
// MediaEvent kinds give CiscoMediaOpenLogicalChannelEv,
// CiscoRTPOutputStartedEv, CiscoRTPInputStartedEv, CiscoRTPOutputStoppedEv
// and CiscoRTPInputStoppedEv (FamilyTerminal, entity = the device, with
// TerminalData and MediaData). They change no call state.
//
// # Calling-party transformation
//
// CallPartyEvent{added} creates a party connection for the masked number Y
// directly CONNECTED/ESTABLISHED (ConnCreatedEv, ConnConnectedEv,
// CallCtlConnEstablishedEv, meta ADDITIONAL_PARTY) with
// ConnectionData.Transient set so consumers can ignore it; {removed}
// disconnects it (meta REMOVING_PARTY). The call's parties follow the wire
// events, so CallData.CurrentCalling reads Y on every event from the
// caller's PROCEEDING on (§3.3 rule 8).
//
// # Dial-plan features
//
// Outside parties (network.go), call forwarding, pickup and park
// (featurereason.go), hunt pilots (hunt.go) and calls that come back to
// this session's lines (rejoins.go) are described in those files, each
// with the page of Cisco's JTAPI guide 15 it follows; docs/engine.md §14a
// tabulates them with their scenario scripts (pkg/ctiengine/testdata/
// scripts: trunk-*, dial-plan-internal, forward-*, pickup*, park*, hunt*).
//
// # Snapshots and gap accounting
//
// EndObservation (CTIManager lost) sends CallObservationEndedEv for every
// tracked call, ordered by call id, and keeps them as the before-gap set;
// every Connection they hold becomes stale (known, not confirmed since).
// After reconnection the engine requests snapshots device by device and
// applies live events in between, so the model merges both:
//
//   - The first event of a before-gap call since the gap, a snapshot
//     event or a live one (line state, feature, call change naming it as
//     the surviving call, call party), re-opens it with CallActiveEv
//     (snapshot-flagged when it comes from a snapshot) before anything
//     else is reported on it; a snapshot of a call not known at all
//     starts it with CallActiveEv. A call change reports nothing on its
//     original call: a moved connection not described since the gap
//     leaves it silently.
//   - A snapshot event describes its line's connection and terminal
//     connection directly in the reported state (ConnCreatedEv, the state
//     events, TermConnCreatedEv, the TC state events) when the connection
//     is stale or new, and synthesizes the far party as live events do; a
//     connection already described since the gap (learned from live
//     events, or confirmed by them or by an earlier snapshot event) only
//     reports what differs, never a second ConnCreatedEv.
//   - A live event on a stale connection re-describes it as it was known
//     (ConnCreatedEv and its states, cause NORMAL) before its own change.
//   - Nothing learned since the gap is dropped by a snapshot: neither
//     connections nor a transfer, conference or route redirect that
//     started since (a call's first snapshot clears only the marks set
//     before the gap). Connections known before the gap that neither a snapshot nor a live event
//     confirmed are removed at Reconcile only (they left during the gap,
//     and the consumer was not told of them since the call re-opened, so
//     they go without events); a route point's leg, which gets no
//     snapshot, thus stays reportable until Reconcile. A call left without
//     any line of this session then ends (CallInvalidEv).
//
// Route points get no snapshot (seed p.216: RouteAddress calls "get
// recovered on the new CTIManager", only the snapshot is withheld;
// Config.NoSnapshot names their lines). A leg at a route point known
// before the gap is therefore kept as it was: when the call re-opens (a
// snapshot of another line, or any live event, including a route event
// of the recovered route session) the leg is re-described with it, after
// the event that re-opened it, and it is never settled as gone at
// Reconcile. A call known before the gap only at route points and not
// named since is continued at Reconcile (GapCall.AwaitingRecovery); the
// engine calls ExpireRecovery when CTIManager's route-select timer would
// have ended its route session, forgetting it silently if it was never
// recovered (it ended during the gap; its observation ended at the loss).
//
// A snapshot of a call that began since the interruption (live events
// already reported it) only reports what differs. Every snapshot event
// carries cause SNAPSHOT 110, meta SNAPSHOT 135 and Data.Snapshot.
// Reconcile, once every snapshot completed, returns each call's outcome:
// a before-gap call that neither a snapshot nor a live event mentioned
// since ended during the gap (and is forgotten), one that was mentioned
// continued, a call a snapshot reported that the model did not know was
// discovered. The engine counts them and reports the inferred events
// (CallEndedDuringGap, CallDiscoveredBySnapshot) and GapClosed
// (pkg/ctiengine/gap.go).
//
// # Bounds and robustness
//
// At most Config.MaxCalls calls are tracked (events of further calls are
// dropped and counted in Stats.Untracked), at most 16 connections per
// call, and 256 remembered ended calls. A call holds no map: its
// connections are a short slice. Calls that end are forgotten; a live call
// costs under 1 KB (BenchmarkActiveCallMemory). Inconsistent input never
// panics and never grows the model: a disconnect for an unknown call, an
// event for a disconnected connection or an ended call, a call change from
// an unknown call, a feature for unknown calls or a snapshot of a
// disconnected leg are ignored and counted in Stats.Ignored; a state for an
// unknown call or line creates what it needs (the connection directly in
// that state). FuzzApply checks these properties on random event
// sequences.
//
// # Choices where the JTAPI documentation is silent
//
//   - The wire-state mapping above (jtapi-facts §13 marks it unconfirmed).
//   - Synthesized far parties go OFFERED → ALERTING → ESTABLISHED (or
//     straight to ESTABLISHED for a caller), like an observed party; the
//     originating line shows the NETWORK_* states only when the far party
//     is outside the cluster (the guide gives no trunk sequence; JTAPI 1.4
//     defines the network states for a call that left the switch).
//   - CallObservationEndedEv follows CallInvalidEv when a call ends
//     normally, as in the §12 teardown; EndObservation's
//     CallObservationEndedEv (CTIManager loss) carries no meta code.
//   - A party removed from a call without its own events (only inferred
//     from another line's far party changing) is disconnected with
//     TRANSFER unless the event carries redirect information.
//   - The guide's tables give CiscoTransferStartEv META_UNKNOWN; for the
//     End events they are silent, and the model gives them META_UNKNOWN
//     too.
//   - A HELD terminal connection resumed for a conference moves core
//     ACTIVE → ACTIVE: only CallCtlTermConnTalkingEv is reported (the
//     normative mapping), although the guide's chained-conference chart
//     also lists a TermConnActiveEv there.
package callmodel
