// Package ctisim simulates a Cisco CUCM cluster's CTIManagers speaking the
// open CTI link protocol (pkg/ctilink): several CTIManager nodes in one
// process, each on its own loopback ports (plain TCP and TLS 1.3 with
// mutual authentication), sharing one cluster — devices, CallManager
// nodes, application users — and one call model (pkg/ctisim/traffic).
// It is the server the bridge, its tests, its benchmarks and its demo run
// against, and it is meant to be used from users' own tests the way
// net/http/httptest is.
//
// docs/simulator.md is the user guide: the default cluster, the YAML
// reference, the faults and the HTTP control API, TLS, the ground-truth
// format and the wire-state sequences of every traffic scenario.
//
// # Usage
//
//	cfg := ctisim.Config{
//		Cluster: ctisim.DefaultCluster().WithEphemeralPorts(),
//		Traffic: traffic.Config{Rate: 2, Seed: 42},
//	}
//	sim, err := ctisim.New(cfg)
//	if err != nil { ... }
//	if err := sim.Start(); err != nil { ... }
//	defer sim.Close()
//	addr := sim.Addr("ctim-a") // dial it with ctilink.NewConn
//	...
//	sim.KillNode("ctim-a")            // faults, callable at any time
//	records := sim.GroundTruth("")    // what was sent to whom
//
// With Config.ManualTime the call model only moves when Server.Advance is
// called, so a test gets identical output for a seed; Server.Place scripts
// single calls.
//
// # Sessions
//
// Each accepted connection is a session with its own outbound sequence
// numbers. The server answers the two-phase provider open (heartbeat
// intervals clamped into the node's bounds), pages the user's control
// list, opens devices and lines, registers CTI ports (several sessions
// may hold one only with identical media parameters) and route points,
// answers snapshots from the call model, forwards route selections, sends
// heartbeats when idle and drops a client silent for twice its heartbeat
// interval. A session receives the events of the lines and devices it
// opened, and the route and media events of what it registered.
//
// # Concurrency
//
// All cluster state and the call model are guarded by one mutex. One
// driver goroutine advances the model with the wall clock (unless
// ManualTime) and, under that mutex, appends each emission to the bounded
// queue of every entitled session; appending never blocks. Each session
// has a reader goroutine (requests, its own lifetime) and a writer
// goroutine (queue, heartbeats, stall and slow-link faults). A session
// whose queue overflows (Config.SessionQueue frames not yet written) is
// closed at once with an error log line, so a client that does not read
// cannot hold up the cluster or other sessions. Every method of Server is
// safe for concurrent use.
//
// # Ground truth
//
// Every frame written to a session is recorded (session, node, sequence,
// type, time, body), as are frames withheld by a stall or lost when a
// session was killed (Sent=false with the reason). Records go as JSON
// lines to Config.GroundTruth and the last Config.GroundTruthLimit
// (default 200,000) stay in memory for Server.GroundTruth.
package ctisim
