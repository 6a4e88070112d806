// Package fakeclock is a manually advanced clock for the engine's tests.
//
// Timers fire from the goroutine that calls Advance or Set, in deadline
// order (ties in the order they were armed), after the clock has been moved
// to their deadline; so a callback that reads Now sees its own deadline.
package fakeclock

import (
	"sort"
	"sync"
	"time"
)

// Clock is a fake clock. The zero value is not usable; call New.
type Clock struct {
	mu     sync.Mutex // guards the following fields
	now    time.Time
	timers []*Timer
	nextID uint64
}

// New returns a clock set to start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Timer is a timer of a fake clock.
type Timer struct {
	c   *Clock
	at  time.Time
	id  uint64
	f   func()
	off bool
}

// AfterFunc arms a timer firing d after the current time.
func (c *Clock) AfterFunc(d time.Duration, f func()) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	t := &Timer{c: c, at: c.now.Add(d), id: c.nextID, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop disarms the timer; it reports whether the timer was still armed.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.off {
		return false
	}
	t.off = true
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			break
		}
	}
	return true
}

// Pending reports how many timers are armed.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the earliest armed deadline (zero if none).
func (c *Clock) NextDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var min time.Time
	for _, t := range c.timers {
		if min.IsZero() || t.at.Before(min) {
			min = t.at
		}
	}
	return min
}

// Advance moves the clock forward by d, firing every timer that falls due.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing every timer due by
// then in deadline order.
func (c *Clock) Set(t time.Time) {
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool {
			if c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].id < c.timers[j].id
			}
			return c.timers[i].at.Before(c.timers[j].at)
		})
		if len(c.timers) == 0 || c.timers[0].at.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		next := c.timers[0]
		c.timers = c.timers[1:]
		next.off = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}
