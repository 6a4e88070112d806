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
// (internMaxLen + 32) bytes) whatever the input; a slot is overwritten
// when another string hashes to it. Slots are atomic pointers, so
// concurrent Decode calls share the table without locks; a lost race only
// costs an allocation.
const (
	internSlots  = 1 << 12
	internMaxLen = 64
)

var (
	internTab  [internSlots]atomic.Pointer[string]
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
	slot := &internTab[maphash.Bytes(internSeed, b)&(internSlots-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := new(string)
	*s = string(b)
	slot.Store(s)
	return *s
}
