package jetstream

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// StoreLockFile is the lock file an embedded server holds in its data
// directory while it runs. nats-server does not lock its store_dir itself,
// and two servers writing one JetStream store corrupt it for good: their
// index and their message blocks stop agreeing, and a reader that trusts
// the index waits forever for messages the blocks do not have.
const StoreLockFile = "ctibridge.lock"

// ErrStoreLocked is matched (errors.Is) by the error Embedded.Start
// returns when another process (or another Embedded in this one) holds
// the data directory.
var ErrStoreLocked = errors.New("jetstream: data directory in use")

// StoreLock is an exclusive, advisory lock on a JetStream data directory
// (flock(2) on Unix, LockFileEx on Windows). The operating system releases
// it when the process ends, however it ends, so a crash leaves no stale
// lock behind.
type StoreLock struct {
	dir string
	fl  *flock.Flock
}

// LockStore takes the lock of dir without waiting. When another holder has
// it, the error matches ErrStoreLocked and names the holder's process id
// and start time as the holder wrote them.
func LockStore(dir string) (*StoreLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jetstream: data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, StoreLockFile)
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("jetstream: lock data directory %s: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is locked by %s: two servers on one JetStream store corrupt it; stop the other bridge or demo, or give this one another data directory",
			ErrStoreLocked, dir, holder(path))
	}
	// Say who holds it, for the message the next contender prints. The
	// lock does not depend on this content. Only where the lock is
	// flock(2), which another descriptor's close does not release (fcntl
	// locks are, and Windows refuses writes to a locked range).
	switch runtime.GOOS {
	case "windows", "aix", "solaris", "illumos":
	default:
		note := fmt.Sprintf("pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
		_ = os.WriteFile(path, []byte(note), 0o600)
	}
	return &StoreLock{dir: dir, fl: fl}, nil
}

// holder describes the lock's holder from what it wrote in the file.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "another process"
	}
	line := strings.TrimSpace(string(b))
	if pid, _, ok := strings.Cut(strings.TrimPrefix(line, "pid "), " "); ok {
		if n, err := strconv.Atoi(pid); err == nil && n > 0 {
			if n == os.Getpid() {
				return "this process (" + line + ")"
			}
			return "another process (" + line + ")"
		}
	}
	return "another process"
}

// Unlock releases the lock. It is idempotent.
func (l *StoreLock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	err := l.fl.Unlock()
	l.fl = nil
	if err != nil {
		return fmt.Errorf("jetstream: unlock data directory %s: %w", l.dir, err)
	}
	return nil
}

// lockStore takes the data directory's lock for a starting server (held
// until its shutdown completes: a restart while the previous server still
// stops is refused like any other second writer); e.mu is held.
func (e *Embedded) lockStore() error {
	l, err := LockStore(e.cfg.DataDir)
	if err != nil {
		return err
	}
	e.lock = l
	return nil
}

// unlockStore releases the lock after the server stopped; e.mu is held.
func (e *Embedded) unlockStore() {
	_ = e.lock.Unlock()
	e.lock = nil
}
