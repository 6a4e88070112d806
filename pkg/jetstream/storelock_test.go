package jetstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// A second server on a data directory in use is refused with a message
// that says why and names the holder; once the first has shut down, the
// directory is free again.
func TestEmbeddedRefusesSecondWriter(t *testing.T) {
	dir := t.TempDir()
	first, err := NewEmbedded(EmbeddedConfig{DataDir: dir, NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Shutdown(context.Background()) })

	second, err := NewEmbedded(EmbeddedConfig{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start()
	if err == nil {
		_ = second.Shutdown(context.Background())
		t.Fatal("a second server started on a data directory in use")
	}
	if !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("error %v does not match ErrStoreLocked", err)
	}
	for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid()), "corrupt", "another data directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if second.Running() {
		t.Fatal("the refused server reports running")
	}

	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatalf("the directory stays locked after the first server stopped: %v", err)
	}
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// And the first can have it back (restart on the same directory).
	if err := first.Start(); err != nil {
		t.Fatalf("restart after the other server stopped: %v", err)
	}
}

func TestLockStoreDirect(t *testing.T) {
	dir := t.TempDir()
	l, err := LockStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockStore(dir); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second lock: %v, want ErrStoreLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	l2, err := LockStore(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	_ = l2.Unlock()
}
