// Package traffic is the simulator's call model: a pure, single-threaded,
// deterministic discrete-event model of a CUCM cluster's calls as
// CTIManager reports them at line level (line call states, transfer and
// conference features, call changes, route sessions, CTI port media,
// transient parties of calling-party transformations).
//
// It has no goroutines, reads no clock and does no I/O. The simulator
// server (pkg/ctisim) owns a Model, tells it what time it is, and delivers
// what it emits to the sessions that observe the lines concerned.
//
// # Usage
//
//	m, err := traffic.New(traffic.Config{Rate: 20, Seed: 1, Start: clock.Now()}, dir, hooks)
//	for {
//		wait until m.NextAt() (or until a request arrives)
//		for _, e := range m.Advance(clock.Now()) {
//			deliver e.Msg to every session observing its device/line
//		}
//	}
//
// Place scripts a call, RouteSelect answers a route event, SetRate changes
// the arrival rate, FailDevices drops the calls in setup of a failed
// CallManager node's devices and loses their legs in connected calls,
// DeviceIdle says when a device can re-home, Snapshot reports the live
// legs of a device.
// Place, RouteSelect and SetRate first run the model up to their time;
// what they produce is returned by the next Advance. FailDevices returns
// everything due up to its time, its own drops last, so the driver keeps
// the order.
//
// # Model
//
// A call is a global call id with legs; a leg is one line's participation
// (a call handle, unique per leg, never reused). Every leg's events carry
// the call's original calling/called parties, the current ones (changed
// by redirection, transfer or transformation), the last redirecting party,
// the connection reason (DIRECTCALL, REDIRECT, TRANSFERREDCALL), Origin on
// the leg that placed the call, and the CallManager of the device that
// placed the call. TimeNs is the model time of the emission.
//
// Each scenario instance claims the lines it uses when it starts (the
// caller, the called party, a transfer's third party); the generator picks
// only unclaimed lines of devices in service (Hooks.DeviceInService), so a
// line in a call is never picked for another one. A scripted call (Place)
// to a claimed or out-of-service line fails like busy. Lines are released
// as their legs disconnect; a call is forgotten when its last leg
// disconnects, so memory is bounded by the live calls.
//
// # Scenarios
//
// The wire sequences follow the "Wire line-state sequences" contract
// (A calls B; C is a third party; R a route point; P a CTI port):
//
//   - basic: A DIALTONE; A DIALING, A PROCEEDING, B OFFERING, B ACCEPTED,
//     A RINGBACK (one DialTime later); B CONNECTED, A CONNECTED (after the
//     ring time); after the talk time both DISCONNECTED (NORMALCALLCLEARING),
//     the side hanging up first first.
//   - noanswer: as basic up to RINGBACK; after NoAnswerTime A DISCONNECTED
//     (NORMALCALLCLEARING), B DISCONNECTED (NOANSWERFROMUSER).
//   - busy: B is treated as busy (a line already in a call, or an idle line
//     marked busy for the scenario): A DIALTONE, DIALING, PROCEEDING, BUSY
//     (USERBUSY), and after BusyTime DISCONNECTED (USERBUSY). B gets nothing.
//   - hold: basic; after a talk time A ONHOLD, after the hold time A
//     CONNECTED, after another talk time the hang-up.
//   - consulttransfer: A↔B connected; B ONHOLD; B places the consult call to
//     C (DIALTONE…RINGBACK, C CONNECTED, B CONNECTED); after a talk time
//     Feature{transfer, started, parties A, B, C}, B DISCONNECTED
//     (primary), CallChanged{C: consult → primary}, B DISCONNECTED
//     (consult), A CONNECTED (currentCalled=C), C CONNECTED
//     (currentCalling=A, TRANSFERREDCALL), Feature{transfer, ended,
//     result=primary} — the JTAPI guide's order (Table 8). C keeps its
//     call handle. A leg lost to a CallManager failure invokes no feature:
//     both calls are just hung up.
//     If C cannot be reached (busy path on the consult call) or the consult
//     call is dropped by FailDevices, B retrieves A (B CONNECTED) and the
//     call ends as a basic one.
//   - blindtransfer: as consult, but one DialTime after C starts ringing the
//     transfer completes: A RINGBACK and C ACCEPTED on the primary call,
//     then after the ring time C CONNECTED, A CONNECTED.
//   - failedtransfer: as consult up to the consult call connected; then
//     Feature{transfer, started}, C DISCONNECTED and B DISCONNECTED
//     (consult), Feature{transfer, ended, failed}; one DialTime later B
//     CONNECTED (primary: B takes A back); then as basic.
//   - conference: as consult up to the consult call connected; then
//     Feature{conference, started}, B CONNECTED (primary), CallChanged for
//     C, B DISCONNECTED (consult), A, C CONNECTED (primary),
//     Feature{conference, ended}.
//     Parties then leave one by one, a talk time apart; when one would be
//     left alone it is disconnected too.
//   - routepoint: A calls R; R OFFERING and, if R is registered
//     (Hooks.RoutePointRegistered) and in service, Route{route} with a new
//     session id. RouteSelect takes the first usable destination (a phone
//     line, idle, in service, not on A's device): Route{used}, R
//     DISCONNECTED, D OFFERING (REDIRECT, lastRedirecting=R), D ACCEPTED,
//     A RINGBACK (currentCalled=D), Route{end, 100}; then as basic. A
//     RouteSelect with no usable destination emits Route{reroute, 103} and
//     restarts the timer. No selection within RouteSelectTimeout:
//     Route{end, 101}, R DISCONNECTED (NOUSERRESPONDING), A BUSY,
//     A DISCONNECTED. An unregistered route point: R OFFERING, R
//     DISCONNECTED (NOUSERRESPONDING), A BUSY, A DISCONNECTED at once.
//   - ctiport: A calls P; if P is registered (Hooks.CTIPort), idle and in
//     service: P OFFERING, P ACCEPTED, A RINGBACK, Media{openLogicalChannel}
//     when registered for dynamic media; P answers after the ring time (P
//     CONNECTED, A CONNECTED), Media{rtpOutputStarted} towards A's phone
//     (a synthetic 10.x.y.z address and an even RTP port),
//     Media{rtpInputStarted} with the registered address and the first
//     registered codec (default G711Ulaw64k, 20 ms); after the talk time
//     rtpOutputStopped, rtpInputStopped, then the hang-up. Otherwise busy.
//   - sharedline: A calls S, a directory number shared by several phones
//     (its appearances are used by this scenario only): every appearance
//     OFFERING, every appearance ACCEPTED, A RINGBACK; after the ring time
//     the first appearance CONNECTED, the others REMOTEINUSE, A CONNECTED;
//     after a talk time the first ONHOLD; after the hold time the second
//     CONNECTED, the first REMOTEINUSE; after a talk time A DISCONNECTED,
//     then the appearances (the talking one first).
//   - transform: A calls B through a Pattern: the presented number Y is the
//     pattern's CallingMask applied to A's DN (X takes the caller's digit
//     at the same position from the right). After A PROCEEDING:
//     CallParty{A, Y, added, transient}, B OFFERING (calling=A,
//     currentCalling=Y), B ACCEPTED, A RINGBACK, CallParty{A, Y, removed,
//     transient}; then as basic. A's events carry currentCalling=Y from
//     PROCEEDING on. The called party is B itself: the pattern's prefix is
//     stripped by the translation, as CUCM reports it.
//   - outbound, inbound: calls across a trunk to and from numbers outside
//     the cluster, whose party is marked External (external.go).
//   - forwardall, forwardbusy, forwardnoanswer: calls to a line that
//     forwards them; forwards also apply to every two-party call
//     (forward.go).
//   - pickup: a member of the ringing line's pickup group picks the call
//     up (pickup.go).
//   - park: the called party parks the call on a park number, another
//     phone retrieves it (park.go).
//   - hunt: a call to a hunt pilot hunts its line group top-down
//     (hunt.go).
//
// Each of the new scenarios' files gives its wire sequence and the page
// of Cisco's JTAPI guide it follows. Changes a feature makes carry the
// wire's FeatureReason (REDIRECT, PICKUP, PARK, UNPARK); hunt calls carry
// the pilot's number in HuntPilot.
//
// A scripted call (Place) plays the canonical order above: the caller
// hangs up first and conference parties leave in the order caller,
// transferrer, added party. Generated calls pick which side hangs up, and
// the order conference parties leave in, at random.
//
// # Generator
//
// With Config.Rate > 0, calls arrive as a Poisson process (exponential
// gaps) at Rate per second. Each arrival picks a scenario by the Mix
// weights (nil: every scenario the directory can play, equally) and its
// parties at random among idle lines of devices in service: the route
// point at random among all route points, the CTI port among idle ones.
// An arrival that finds no suitable line is skipped and counted in
// Stats.Skipped. Picking costs O(1): idle and busy lines live in swap-
// remove sets, and a pick probes at most 32 random candidates.
//
// # Durations
//
// Ring, talk and hold times are uniform in [RingTime, RingTimeMax],
// [TalkTime, TalkTimeMax], [HoldTime, HoldTimeMax], drawn in whole
// milliseconds; a minimum without a maximum makes the duration fixed.
// Defaults suit a demo: dial 1 s, ring 1–3 s, talk 2–8 s, hold 1–2 s,
// no-answer 4 s, busy tone 1 s, route-select timeout 5 s.
//
// # Determinism
//
// Every random choice comes from one math/rand/v2 PCG seeded from
// Config.Seed, drawn in event order; events due at the same time run in
// the order they were scheduled. For the same seed, directory, hooks
// answers, and the same Place/RouteSelect/SetRate/FailDevices calls at the
// same times, the emissions are identical, whatever times Advance is
// called at in between. Nothing depends on map iteration order.
//
// # Snapshot and failures
//
// Snapshot(device) returns, for every live leg on the device's lines, the
// leg's current CallStateEvent with Snapshot set (a held leg ONHOLD, a
// ringing one ACCEPTED, …); its TimeNs is when the leg entered that state.
// FailDevices drops the calls still in setup (no called leg CONNECTED yet)
// with a leg on the failed devices: every live leg DISCONNECTED with cause
// TEMPORARYFAILURE (an open route session first ends with cause 105).
// Connected calls survive, but their legs on the failed devices are lost
// to CTI: each is reported once more, UNKNOWN with cause
// CALLMANAGER_FAILURE (508), then nothing (not in snapshots either); the
// leg ends silently with its call. The model does not remember failures: the
// server must answer Hooks.DeviceInService false for those devices until
// they are restored, which keeps the generator off them and makes calls
// to them fail like busy.
//
// # Concurrency
//
// A Model is not safe for concurrent use; one goroutine drives it. Hooks
// are called from inside Advance, Place, RouteSelect and FailDevices on
// that goroutine, and must not call back into the Model.
//
// # Cost
//
// Advance costs O(log n) per event (a binary heap of pending steps, at
// most a few per live call). At 200 calls/s a simulated second costs a few
// milliseconds (BenchmarkAdvance200cps). Advance returns everything due in
// one slice: a driver that stops calling it for a long time gets a large
// batch.
package traffic
