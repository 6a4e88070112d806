// Package callmodel turns the simulator's line-level wire events
// (ctilink.CallStateEvent and friends) into the JTAPI event sequence a
// JTAPI application with call observers on the controlled addresses would
// see, tracking Call, Connection and TerminalConnection objects with their
// core and call-control states.
//
// It is pure: no goroutines, no clock reads, no I/O, no logging. The
// engine (package ctiengine) calls it from its single goroutine.
//
// The full description of the model and its mapping tables follows in
// later revisions of this file.
package callmodel
