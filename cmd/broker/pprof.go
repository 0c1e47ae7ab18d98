package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// servePprof serves Go's profiles (net/http/pprof) on addr until the
// process exits: cmd/bench --profile reads CPU and allocation profiles
// from here. It is off unless --pprof-addr is set, and it serves nothing
// but the profiles. A failure to listen is logged, not fatal: profiling
// is an aid, and the broker works without it.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		log.Info("pprof listener started", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Error("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
}
