// Package faultmatrix proves the bridge's "nothing lost" promise
// (PRODUCT.md §6): it runs the simulated CUCM cluster (pkg/ctisim), an
// embedded NATS server with JetStream and the bridge, injects one fault at
// a time, and compares the whole stream with the simulator's ground truth.
// docs/reliability.md describes the matrix, the checker's rules and the
// soak.
//
// # Usage
//
// A Rig runs the three parts in one process (the fault-matrix tests use
// it); for the real daemon instead of the in-process bridge, BuildBridge
// compiles cmd/bridge, Rig.DaemonConfig writes its configuration against
// the rig and StartDaemon runs it (the signal tests and cmd/ctisoak do);
// a Checker takes the ground truth (AddRecord, or a
// GroundTruthWriter for long runs) and the stream (ReadStream, in stream
// order) and reports precise diffs:
//
//	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: dir, Rate: 5}) // NATSCluster: 3 for R3
//	defer rig.Close()
//	_, err = rig.StartBridge(nil)
//	err = rig.WaitInService(15*time.Second, nil)
//	rig.Sim.KillNode("ctim-a") // any fault
//	...
//	err = rig.StopBridge()     // in order, as on SIGTERM
//	rig.Sim.Close()
//	c := faultmatrix.NewChecker()
//	c.RoutePoints = rig.RoutePoints()
//	for _, r := range rig.Sim.GroundTruth("") {
//		c.AddRecord(r)
//	}
//	err = rig.CheckStream(ctx, c)
//	rep := c.Report() // rep.OK(), rep.String()
//
// # Provenance
//
// The comparison rests on the ctiframe extension: every event the engine
// derives from an inbound frame names it ("<providerId>:<frame
// sequence>"), and the simulator records every frame it sent with the
// same session id and sequence.
//
// # Concurrency
//
// A Checker is not safe for concurrent use; a GroundTruthWriter
// serialises its writes (the simulator calls it from several goroutines)
// and must be the Checker's only user until the simulator is closed. A Rig
// is driven from one goroutine.
//
// # NATS cluster
//
// RigConfig.NATSCluster runs NATS as an embedded cluster
// (jetstream.EmbeddedCluster: three nats-servers in the process, routes on
// loopback, a store each) with the stream and buckets R3; the bridge and
// the rig connect over TCP with every node's URL, and Rig.NATSCluster
// stops and starts nodes. The TestCluster… tests (package clusterfaults)
// use it.
//
// # Testing
//
// The tests are the fault matrix: one per fault, each ≤ ~20 s. The
// NATS-cluster tier lives in the sibling package clusterfaults and the
// high-availability tests in hafaults, so that no test binary comes near
// go test's default ten-minute timeout on two cores; all of them drive a
// Rig through the test kit in testkit.go (StartTestRig, CloseAndCheck,
// BridgeBinary, StartTestDaemon …). The signal tests and
// TestBridgeStartsBeforeNATS build cmd/bridge and run `bridge run
// --config` as a child process.
package faultmatrix
