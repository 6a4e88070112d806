package tlse2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// Logs collects a zerolog JSON log (one object per line) for assertions.
// It is safe for concurrent writes.
type Logs struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

// Write appends one or more log lines.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Line is one decoded log line.
type Line map[string]any

// Level is the line's level ("info", "warn", "error", ...).
func (l Line) Level() string { s, _ := l["level"].(string); return s }

// Text is the line's message and every string field, for substring
// searches over what an operator reads.
func (l Line) Text() string {
	var sb strings.Builder
	for _, v := range l {
		if s, ok := v.(string); ok {
			sb.WriteString(s)
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}

// Lines decodes every line (lines that are not JSON are skipped).
func (l *Logs) Lines() []Line {
	var out []Line
	for _, raw := range strings.Split(l.String(), "\n") {
		var m Line
		if json.Unmarshal([]byte(raw), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Find returns the lines at level (any level if "") whose text contains
// every one of subs.
func (l *Logs) Find(level string, subs ...string) []Line {
	var out []Line
	for _, ln := range l.Lines() {
		if level != "" && ln.Level() != level {
			continue
		}
		text := ln.Text()
		ok := true
		for _, s := range subs {
			if !strings.Contains(text, s) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, ln)
		}
	}
	return out
}
