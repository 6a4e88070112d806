package testwait

import (
	"bytes"
	"sync"
)

// Buffer collects what a process or a logger writes while a test reads
// it (waiting for a line, or showing it on failure): a bytes.Buffer safe
// for concurrent use. Limit, if set, caps what is kept; later writes are
// discarded (and reported written, so the writer never fails).
type Buffer struct {
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Limit > 0 && s.b.Len()+len(p) > s.Limit {
		if room := s.Limit - s.b.Len(); room > 0 {
			s.b.Write(p[:room])
		}
		return len(p), nil
	}
	return s.b.Write(p)
}

// String returns everything kept so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
