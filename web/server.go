package web

import (
	"crypto/subtle"
	"github.com/hostwatch/hostwatch/locale"

	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hostwatch/hostwatch/store"
)

// Pinger is the part of the store /healthz asks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options are what the server needs.
type Options struct {
	Store    Pinger
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Handlers are more routes, by ServeMux pattern: the chat apps'
	// webhooks.
	Handlers map[string]http.Handler
	// Status, when set, serves the status page at / and the JSON API
	// under /api/v1.
	Status *StatusOptions
	// Self says which instance answers, for /healthz; nil leaves it out.
	Self func() Self
	// MetricsToken, when set, is the bearer token /metrics asks for: its
	// series name every merchant and check.
	MetricsToken string
}

// Self is the instance that answers: its name, where it probes from, what
// it does, and whether it is fenced off (its lease ran out: it probes and
// sends nothing until it can renew it).
type Self struct {
	Instance, Location, Role string
	Fenced                   bool
}

// Server serves hostwatch's HTTP endpoints.
type Server struct {
	o   Options
	mux *http.ServeMux
}

// New builds the server's routes.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	if o.Status != nil {
		st := &status{o: *o.Status, words: o.Status.Words, log: o.Logger}
		if st.o.Location == nil {
			st.o.Location = time.Local
		}
		if st.words == nil {
			words, err := locale.Load("", st.o.Location)
			if err != nil {
				panic(err) // the built-in templates are tested to parse
			}
			st.words = words
		}
		st.routes(s.mux)
	}
	for pattern, h := range o.Handlers {
		s.mux.Handle(pattern, h)
	}
	metrics := promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelError)})
	if o.MetricsToken != "" {
		metrics = bearer(o.MetricsToken, metrics)
	}
	s.mux.Handle("GET /metrics", metrics)
	return s
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type health struct {
	Status string `json:"status"`
	Store  string `json:"store"`
	// Reason and Since say, while the store refuses writes, why and
	// since when.
	Reason   string     `json:"reason,omitempty"`
	Since    *time.Time `json:"since,omitempty"`
	Instance string     `json:"instance,omitempty"`
	Location string     `json:"location,omitempty"`
	Role     string     `json:"role,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h, code := health{Status: "ok", Store: "ok"}, http.StatusOK
	var unwritable *store.Unwritable
	switch err := s.o.Store.Ping(ctx); {
	case errors.As(err, &unwritable):
		h = health{Status: "unhealthy", Store: "refusing writes", Reason: unwritable.Reason, Since: &unwritable.Since}
		code = http.StatusServiceUnavailable
	case err != nil:
		s.o.Logger.Warn("health check: store unreachable", "err", err)
		h, code = health{Status: "unhealthy", Store: "unreachable"}, http.StatusServiceUnavailable
	}
	if s.o.Self != nil {
		self := s.o.Self()
		h.Instance, h.Location, h.Role = self.Instance, self.Location, self.Role
		if self.Fenced {
			h.Status, code = "unhealthy", http.StatusServiceUnavailable
			if h.Reason == "" {
				h.Reason = "this instance could not renew its lease: it probes and sends nothing until it can"
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(h)
}

// Serve answers on l until ctx is done, then shuts down gracefully, giving
// requests under way up to five seconds.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return Serve(ctx, l, s, s.o.Logger)
}

// Serve answers on l with h until ctx is done, as Server.Serve does: for a
// daemon that changes its handler on a reload and keeps its listener.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// bearer lets through only requests that carry token as a bearer token.
func bearer(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Carries(r, token, false) {
			unauthorized(w, "this needs http.admin_token as a bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Carries reports whether r carries token, as a bearer token or, with
// query, as ?token=TOKEN; an empty token is carried by no request.
func Carries(r *http.Request, token string, query bool) bool {
	var got string
	if query {
		got = r.URL.Query().Get("token")
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = b
	}
	return token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hostwatch"`)
	http.Error(w, msg, http.StatusUnauthorized)
}
