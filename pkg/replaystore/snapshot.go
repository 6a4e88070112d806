package replaystore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// Snapshot message headers. A snapshot is the gzip-compressed
// callstate JSON document of the state after folding every event of the
// cluster up to stream sequence Ctisnap-Seq. One that does not fit in one
// message is split into parts published in order; the last part carries
// the sequences of the others.
const (
	HeaderSnapVersion  = "Ctisnap-Version"
	HeaderSnapCluster  = "Ctisnap-Cluster"
	HeaderSnapSeq      = "Ctisnap-Seq"
	HeaderSnapTime     = "Ctisnap-Time"
	HeaderSnapStored   = "Ctisnap-Stored"
	HeaderSnapEvents   = "Ctisnap-Events"
	HeaderSnapStream   = "Ctisnap-Stream"
	HeaderSnapEncoding = "Ctisnap-Encoding"
	HeaderSnapPart     = "Ctisnap-Part"
	HeaderSnapParts    = "Ctisnap-Parts"
	HeaderSnapPartSeqs = "Ctisnap-Part-Seqs"
)

// snapFormat is the snapshot message format version.
const snapFormat = "1"

// ErrNoSnapshot is returned when no snapshot is at or before the point
// asked for.
var ErrNoSnapshot = errors.New("replaystore: no snapshot")

// SnapshotSubject is the subject of a cluster's snapshots.
func SnapshotSubject(cluster string) string {
	return SnapshotSubjectRoot + "." + schema.EscapeToken(cluster)
}

// SnapshotInfo describes a stored snapshot.
type SnapshotInfo struct {
	Cluster string
	// Seq is the last event-stream sequence folded into the snapshot.
	Seq uint64
	// Time is the latest EventTime folded into the snapshot, which
	// positions it for a point in time; Stored the JetStream time of the
	// message at Seq.
	Time   time.Time
	Stored time.Time
	// Events is the number of events the state has folded in total.
	Events uint64
	// SnapSeq is the snapshot message's sequence in the snapshot stream
	// (its last part); PartSeqs the earlier parts' sequences.
	SnapSeq  uint64
	PartSeqs []uint64
	// Size is the compressed size in bytes.
	Size int
}

// encodeSnapshot compresses the state document.
func encodeSnapshot(st *callstate.State) ([]byte, error) {
	doc, err := st.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("replaystore: marshal state: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(doc); err != nil {
		return nil, fmt.Errorf("replaystore: compress snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("replaystore: compress snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// maxSnapshotBytes bounds a decompressed snapshot (a corrupt or hostile
// message must not exhaust memory).
const maxSnapshotBytes = 1 << 30

func decodeSnapshot(body []byte) (*callstate.State, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("replaystore: snapshot is not gzip: %w", err)
	}
	doc, err := io.ReadAll(io.LimitReader(zr, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("replaystore: decompress snapshot: %w", err)
	}
	if len(doc) > maxSnapshotBytes {
		return nil, fmt.Errorf("replaystore: snapshot larger than %d bytes", maxSnapshotBytes)
	}
	st := callstate.New()
	if err := st.UnmarshalJSON(doc); err != nil {
		return nil, err
	}
	return st, nil
}

func snapshotInfoFrom(seq uint64, h nats.Header, size int) (SnapshotInfo, bool) {
	if h.Get(HeaderSnapVersion) != snapFormat {
		return SnapshotInfo{}, false
	}
	part, parts := h.Get(HeaderSnapPart), h.Get(HeaderSnapParts)
	if part != parts {
		return SnapshotInfo{}, false // not the last part
	}
	info := SnapshotInfo{Cluster: h.Get(HeaderSnapCluster), SnapSeq: seq, Size: size}
	var err error
	if info.Seq, err = strconv.ParseUint(h.Get(HeaderSnapSeq), 10, 64); err != nil {
		return SnapshotInfo{}, false
	}
	info.Events, _ = strconv.ParseUint(h.Get(HeaderSnapEvents), 10, 64)
	info.Time, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderSnapTime))
	info.Stored, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderSnapStored))
	if v := h.Get(HeaderSnapPartSeqs); v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return SnapshotInfo{}, false
			}
			info.PartSeqs = append(info.PartSeqs, n)
		}
	}
	return info, true
}

// snapshotStream returns the snapshot stream, or ErrNoSnapshot when it does
// not exist.
func (s *Store) snapshotStream(ctx context.Context) (natsjs.Stream, error) {
	st, err := s.js.Stream(ctx, s.cfg.SnapshotStream)
	if err != nil {
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: stream %s does not exist (is a Snapshotter running with the bridge?)", ErrNoSnapshot, s.cfg.SnapshotStream)
		}
		return nil, fmt.Errorf("replaystore: snapshot stream %s: %w", s.cfg.SnapshotStream, err)
	}
	return st, nil
}

// Snapshots lists a cluster's snapshots, oldest first (a headers-only
// scan of the snapshot stream).
func (s *Store) Snapshots(ctx context.Context, cluster string) ([]SnapshotInfo, error) {
	ss, err := s.snapshotStream(ctx)
	if err != nil {
		return nil, err
	}
	var out []SnapshotInfo
	_, err = s.read(ctx, ss, Query{Subjects: []string{SnapshotSubject(cluster)}, HeadersOnly: true}, false, func(m Message) error {
		size, _ := strconv.Atoi(m.Header.Get("Nats-Msg-Size"))
		if info, ok := snapshotInfoFrom(m.Seq, m.Header, size); ok {
			out = append(out, info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Point is a position in the log: a stream sequence, or a time. For a
// sequence the state is the one after every event stored up to it. For a
// time it is the state after every event that happened at or before it
// (EventTime: the CTI time, the time received for a snapshot event), the
// clock the timeline shows; the stored time is not used, because the
// bridge stores an event some milliseconds after it happened, and more
// during a NATS outage. The zero Point is the end of the log.
type Point struct {
	Seq  uint64
	Time time.Time
}

// IsZero reports whether p is the end of the log.
func (p Point) IsZero() bool { return p.Seq == 0 && p.Time.IsZero() }

func (p Point) String() string {
	switch {
	case p.Seq > 0:
		return "seq " + strconv.FormatUint(p.Seq, 10)
	case !p.Time.IsZero():
		return p.Time.UTC().Format(time.RFC3339Nano)
	}
	return "end of log"
}

// NearestSnapshot finds the latest snapshot of cluster at or before p
// (ErrNoSnapshot if there is none).
func (s *Store) NearestSnapshot(ctx context.Context, cluster string, p Point) (SnapshotInfo, error) {
	all, err := s.Snapshots(ctx, cluster)
	if err != nil {
		return SnapshotInfo{}, err
	}
	var best *SnapshotInfo
	for i := range all {
		sn := &all[i]
		switch {
		case p.Seq > 0 && sn.Seq > p.Seq:
			continue
		case !p.Time.IsZero() && sn.Time.After(p.Time):
			continue // it folded events that happened after p
		}
		if best == nil || sn.Seq > best.Seq {
			best = sn
		}
	}
	if best == nil {
		return SnapshotInfo{}, fmt.Errorf("%w: none of the %d snapshots of %s is at or before %s", ErrNoSnapshot, len(all), cluster, p)
	}
	return *best, nil
}

// LoadSnapshot reads and decodes a snapshot.
func (s *Store) LoadSnapshot(ctx context.Context, info SnapshotInfo) (*callstate.State, error) {
	ss, err := s.snapshotStream(ctx)
	if err != nil {
		return nil, err
	}
	var body []byte
	for _, seq := range append(append([]uint64(nil), info.PartSeqs...), info.SnapSeq) {
		m, err := ss.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("replaystore: snapshot part at %d: %w", seq, err)
		}
		body = append(body, m.Data...)
	}
	st, err := decodeSnapshot(body)
	if err != nil {
		return nil, fmt.Errorf("replaystore: snapshot of %s at seq %d: %w", info.Cluster, info.Seq, err)
	}
	return st, nil
}
