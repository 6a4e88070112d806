// Package clusterfaults holds the NATS-cluster tier of the fault matrix
// (docs/reliability.md, docs/jetstream.md): the bridge publishing at
// hundreds of events per second into an embedded three-node JetStream
// cluster (R3) while the stream leader, a follower, the meta leader, the
// node the bridge is connected to, two nodes at once (quorum lost) or all
// three in turn (rolling restart) go down, and leaders are asked to step
// down; each run is judged by the ground-truth checker of
// internal/faultmatrix.
//
// It has no code of its own outside its tests: it is a package so that
// the cluster tier runs in a test binary of its own, beside the fault
// matrix's, each well inside go test's default timeout.
package clusterfaults
