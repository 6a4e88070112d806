package failpoint

import (
	"sync"
	"sync/atomic"
)

// Any enables a point for every instance.
const Any = "*"

var (
	enabled atomic.Int32 // number of enabled points: 0 skips the lookup
	mu      sync.Mutex
	points  = map[key]func() error{}
)

type key struct{ point, instance string }

// Enable makes Check(point, instance) return what fault returns, until
// the returned function disables it again (call it, e.g. with t.Cleanup).
// instance is the bridge instance the fault applies to, or Any.
func Enable(point, instance string, fault func() error) (disable func()) {
	mu.Lock()
	defer mu.Unlock()
	k := key{point, instance}
	if _, ok := points[k]; !ok {
		enabled.Add(1)
	}
	points[k] = fault
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := points[k]; ok {
				delete(points, k)
				enabled.Add(-1)
			}
		})
	}
}

// Check returns the fault enabled for point and instance (or for point
// and Any), nil if there is none.
func Check(point, instance string) error {
	if enabled.Load() == 0 {
		return nil
	}
	mu.Lock()
	f, ok := points[key{point, instance}]
	if !ok {
		f, ok = points[key{point, Any}]
	}
	mu.Unlock()
	if !ok {
		return nil
	}
	return f()
}
