package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Readiness explains why the bridge is or is not ready.
type Readiness struct {
	Ready   bool     `json:"ready"`
	Reasons []string `json:"reasons,omitempty"`
}

// OpsServer serves /healthz, /readyz, /metrics and /status, and on
// request the Go profiler under /debug/pprof/.
type OpsServer struct {
	mux *http.ServeMux
	srv *http.Server
	ln  net.Listener
	log zerolog.Logger
}

// NewOpsServer listens on addr (port 0 allowed) and routes the endpoints.
// ready and status are called per request from the HTTP goroutines and must
// be safe for that.
func NewOpsServer(addr string, m *Metrics, ready func() Readiness, status func() any, log zerolog.Logger) (*OpsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := ready()
		code := http.StatusOK
		if !r.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, r)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	s := &OpsServer{
		mux: mux,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:  ln,
		log: log,
	}
	return s, nil
}

// EnableProfiling serves the Go runtime profiles (net/http/pprof) under
// /debug/pprof/ — heap, goroutines, CPU — for an engineer chasing memory or
// CPU in a running bridge. Off by default: the profiles show internals,
// and a CPU profile costs while it runs. Call it before Run.
func (s *OpsServer) EnableProfiling() {
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// EnableStepDown serves POST /ha/step-down: stepDown is called and the
// answer is 202 if it reports that this bridge was active (it hands over
// now), 409 otherwise (a standby, or a single bridge, has nothing to hand
// over). Call it before Run.
func (s *OpsServer) EnableStepDown(stepDown func() bool) {
	s.mux.HandleFunc("POST /ha/step-down", func(w http.ResponseWriter, _ *http.Request) {
		if stepDown() {
			writeJSON(w, http.StatusAccepted, map[string]string{"result": "handing over: the lease is released in order and another member takes over"})
			return
		}
		writeJSON(w, http.StatusConflict, map[string]string{"result": "not the active member: nothing to hand over"})
	})
}

// Addr is the address the server listens on.
func (s *OpsServer) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully.
func (s *OpsServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
