// Package limits proves, end to end through the real bridge, that the
// bounds on what outside input can make the bridge hold are kept and that
// none of them can crash it or make memory grow without bound: the frame
// size limit, garbage frames, MaxDevices, MaxCalls, the publisher's buffer
// while NATS is unreachable, and a subscriber of the embedded NATS server
// that never reads. Hostile CTIManagers are written in the tests with
// pkg/ctilink; the bridge, NATS and the simulator come from the
// internal/tlse2e harness. It holds tests only; README.md in
// internal/tlse2e summarises what each proves.
package limits
