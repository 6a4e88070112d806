// Package testwait is the one waiter the tests share: Eventually polls a
// condition over real I/O (sockets, a NATS server, a simulator) until it
// holds or a bound passes, and fails the test with what it waited for.
//
// Rules that depend on time are tested with a fake clock or the
// simulator's manual time, never with this; Eventually is for waiting on
// work that another goroutine or process does at its own pace, where
// there is no event to block on.
package testwait
