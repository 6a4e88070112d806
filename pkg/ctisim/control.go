package ctisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// ControlHandler returns the HTTP control API (see docs/simulator.md):
//
//	GET  /status                      cluster, model time, calls, ground-truth counters
//	GET  /nodes                       CTIManager nodes with addresses and fault state
//	GET  /sessions                    open sessions
//	GET  /callmanagers                CallManager nodes and whether they are up
//	POST /faults/kill?node=N          KillNode
//	POST /faults/restore?node=N       RestoreNode
//	POST /faults/stall?node=N         StallHeartbeats
//	POST /faults/resume?node=N        ResumeHeartbeats
//	POST /faults/reset?node=N         ResetConnections
//	POST /faults/reset?instance=I     ResetInstance (one client certificate's sessions)
//	POST /faults/cut?instance=I       CutInstance (reset, then refuse, one certificate's connections)
//	POST /faults/uncut?instance=I     RestoreInstance
//	POST /faults/slow?node=N&delay=D  SlowLink (delay=0 clears)
//	POST /faults/cmfail?cm=C          FailCallManager
//	POST /faults/cmrestore?cm=C       RestoreCallManager
//	POST /calls?scenario=S&from=A&to=B&third=C   Place
//	POST /rate?rate=R                 SetRate (calls per second, 0 stops new calls)
//	GET  /groundtruth?session=ID      ground-truth records kept in memory, as JSON lines
func (s *Server) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		total, kept, werr := s.gt.stats()
		st := map[string]any{
			"cluster": s.cfg.Cluster.Name, "modelTime": s.Now(), "activeCalls": s.ActiveCalls(),
			"groundTruthTotal": total, "groundTruthKept": kept, "rate": s.Rate(), "seed": s.cfg.Traffic.Seed,
		}
		if werr != nil {
			st["groundTruthError"] = werr.Error()
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /nodes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Nodes()) })
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Sessions()) })
	mux.HandleFunc("GET /callmanagers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.CallManagers())
	})
	nodeFault := func(f func(string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			node := r.URL.Query().Get("node")
			if node == "" {
				writeErr(w, http.StatusBadRequest, errors.New("missing ?node=<CTIManager name>"))
				return
			}
			if err := f(node); err != nil {
				writeErr(w, http.StatusBadRequest, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "node": node})
		}
	}
	mux.HandleFunc("POST /faults/kill", nodeFault(s.KillNode))
	mux.HandleFunc("POST /faults/restore", nodeFault(s.RestoreNode))
	mux.HandleFunc("POST /faults/stall", nodeFault(s.StallHeartbeats))
	mux.HandleFunc("POST /faults/resume", nodeFault(s.ResumeHeartbeats))
	// instanceFault serves a fault on one client certificate's sessions
	// (?instance=): f reports how many sessions it reset.
	instanceFault := func(f func(string) (int, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			instance := r.URL.Query().Get("instance")
			if instance == "" {
				writeErr(w, http.StatusBadRequest, errors.New("missing ?instance=<client certificate CommonName>"))
				return
			}
			n, err := f(instance)
			if err != nil {
				writeErr(w, http.StatusBadRequest, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "instance": instance, "sessions": n})
		}
	}
	mux.HandleFunc("POST /faults/reset", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("instance") == "" {
			nodeFault(s.ResetConnections)(w, r)
			return
		}
		instanceFault(s.ResetInstance)(w, r)
	})
	mux.HandleFunc("POST /faults/cut", instanceFault(func(i string) (int, error) { return s.CutInstance(i), nil }))
	mux.HandleFunc("POST /faults/uncut", instanceFault(func(i string) (int, error) { s.RestoreInstance(i); return 0, nil }))
	mux.HandleFunc("POST /faults/slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := parseDelay(r.URL.Query().Get("delay"))
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		nodeFault(func(n string) error { return s.SlowLink(n, d) })(w, r)
	})
	cmFault := func(f func(string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			cm := r.URL.Query().Get("cm")
			if cm == "" {
				writeErr(w, http.StatusBadRequest, errors.New("missing ?cm=<CallManager name>"))
				return
			}
			if err := f(cm); err != nil {
				writeErr(w, http.StatusBadRequest, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "cm": cm})
		}
	}
	mux.HandleFunc("POST /faults/cmfail", cmFault(s.FailCallManager))
	mux.HandleFunc("POST /faults/cmrestore", cmFault(s.RestoreCallManager))
	mux.HandleFunc("POST /calls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sc := traffic.Scenario(q.Get("scenario"))
		if sc == "" {
			sc = "basic"
		}
		id, err := s.Place(sc, q.Get("from"), q.Get("to"), q.Get("third"))
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "globalCallId": id})
	})
	mux.HandleFunc("POST /rate", func(w http.ResponseWriter, r *http.Request) {
		rate, err := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, errors.New("missing or bad ?rate=<calls per second>"))
			return
		}
		if err := s.SetRate(rate); err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "rate": rate})
	})
	mux.HandleFunc("GET /groundtruth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, rec := range s.GroundTruth(r.URL.Query().Get("session")) {
			if err := enc.Encode(rec); err != nil {
				return
			}
		}
	})
	return mux
}

func parseDelay(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("missing ?delay=<duration>, e.g. 250ms (0 clears)")
	}
	if ms, err := strconv.Atoi(v); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("delay %q: use a duration such as 250ms or a number of milliseconds", v)
	}
	return d, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]any{"ok": false, "error": err.Error()})
}

// serveControl starts the control API on addr.
func (s *Server) serveControl(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ctisim: control API on %s: %w", addr, err)
	}
	s.ctlLn = ln
	s.control = &http.Server{Handler: s.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.control.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("control API stopped")
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("control API listening")
	return nil
}

// ControlAddr returns the control API's address ("" when not serving).
func (s *Server) ControlAddr() string {
	if s.ctlLn == nil {
		return ""
	}
	return s.ctlLn.Addr().String()
}
