// Package ctilink implements the bridge's open CTI link protocol: the framed,
// versioned session protocol between a CTI client (the engine in
// pkg/ctiengine) and a CTIManager (the simulator in pkg/ctisim, or a
// gateway in front of a real CUCM cluster).
//
// The protocol carries the session semantics of Cisco's JTAPI↔CTIManager
// link (two-phase provider open, negotiated bidirectional heartbeats,
// device and line observation, CTI port and route point registration,
// snapshots, line-level call states) without reproducing the proprietary
// CTIQBE encoding. docs/protocol.md is the normative description; this
// package is its reference implementation.
//
// # Frames
//
// A frame is a 16-byte big-endian header (magic "CTIL", version, flags,
// message type, body length, sequence) followed by a UTF-8 JSON body. Each
// side numbers its frames from 1, so a receiver can prove it missed nothing
// within a session. Bodies are bounded (DefaultMaxFrameSize, at most
// HardMaxFrameSize); the Decoder never allocates more than that bound,
// whatever a header claims.
//
// # Errors
//
// Decoder.Next distinguishes fatal errors (bad magic, unsupported version,
// oversized frame, I/O) after which the connection must be closed, from
// per-frame errors (unknown type, malformed or invalid body) after which the
// stream stays in sync; see IsFatal. ErrorFor builds the Error message that
// answers an unusable frame.
//
// # Concurrency
//
// A Conn may be written from several goroutines; it must be read from one.
package ctilink
