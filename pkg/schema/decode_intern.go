package schema

import (
	"hash/maphash"
	"sync/atomic"
)

// The strings of an event's data repeat from message to message: state,
// cause and event names, call managers, addresses, terminals, the call id
// of every leg's events. Decode hands out one shared copy of each short
// string it met recently instead of allocating a new one per message
// (replay folds whole streams through Decode; allocation was most of its
// cost). The table is fixed in size and each slot holds one string of at
// most internMaxLen bytes, so its memory is bounded (≈ internSlots ×
// (internMaxLen + 32) bytes) whatever the input. Slots are atomic
// pointers, so concurrent Decode calls share the table without locks; a
// lost race only costs an allocation.
//
// The table is set-associative: a string may sit in any of the internWays
// slots of the bucket its hash selects, and a new string replaces the
// bucket's slots in turn. With one slot per hash (direct-mapped), two of
// the dozen strings of a single event hashing alike — about one process in
// forty, the hash seed being random — evicted each other on every decode,
// so that event cost two allocations more per string for the process's
// whole life. Four ways keep every string of a working set shared unless
// five of them share a bucket (about 3 in 10⁹ for one event's strings).
const (
	internSlots  = 1 << 12
	internWays   = 4
	internMaxLen = 64
)

type internBucket struct {
	slot [internWays]atomic.Pointer[string]
	// next is the way the next new string of this bucket replaces
	// (round robin, so a string is evicted only after internWays others).
	next atomic.Uint32
}

var (
	internTab  [internSlots / internWays]internBucket
	internSeed = maphash.MakeSeed()
)

// intern returns string(b), shared with earlier calls for the same bytes
// when the table still holds them.
func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen {
		return string(b)
	}
	bucket := &internTab[maphash.Bytes(internSeed, b)&(uint64(len(internTab))-1)]
	for i := range bucket.slot {
		if p := bucket.slot[i].Load(); p != nil && *p == string(b) {
			return *p
		}
	}
	s := new(string)
	*s = string(b)
	bucket.slot[(bucket.next.Add(1)-1)%internWays].Store(s)
	return *s
}
