package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// Agents are the agents the server knows, from its configuration.
type Agents interface {
	// Agents lists the agents configured for location.
	Agents(location string) []Agent
}

// Assigned says which checks each location probes.
type Assigned interface {
	// Version changes whenever the checks may have: at each reload.
	Version() string
	// Checks lists the checks location probes.
	Checks(location string) []*config.Check
}

// Sink takes the results agents send.
type Sink interface {
	// Results records a batch of agent's, whose results are all of
	// checks assigned to its location. An error leaves the agent to send
	// the batch again later.
	Results(ctx context.Context, agent Agent, batch Batch) error
}

// ServerOptions is what a Server needs from the daemon.
type ServerOptions struct {
	Agents Agents
	Checks Assigned
	Sink   Sink
	// Replays remembers the nonces taken; shared through the store, a
	// request taken by one instance is refused by every other. By
	// default they are kept in this process.
	Replays ReplayGuard
	// Now is the server's clock; time.Now by default.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server serves the agents: GET /agent/v1/checks and POST
// /agent/v1/results, each signed by an agent the server knows. Mount it at
// /agent/v1/.
type Server struct {
	agents   Agents
	checks   Assigned
	sink     Sink
	replays  ReplayGuard
	now      func() time.Time
	log      *slog.Logger
	mu       sync.Mutex
	assigned map[string]*assignment // by location
	heard    map[string]time.Time   // by agent name
}

// assignment is the answer to a location's GET, kept until the checks'
// version changes.
type assignment struct {
	version string
	body    []byte
	etag    string
	ids     map[string]bool
}

// NewServer builds the handler.
func NewServer(o ServerOptions) *Server {
	s := &Server{agents: o.Agents, checks: o.Checks, sink: o.Sink, replays: o.Replays, now: o.Now, log: o.Logger,
		assigned: map[string]*assignment{}, heard: map[string]time.Time{}}
	if s.replays == nil {
		s.replays = &memoryGuard{seen: map[string]time.Time{}}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Heard is when each agent, by name, was last heard from: a request it
// signed.
func (s *Server) Heard() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.heard)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	var method string
	switch path {
	case ChecksPath:
		method = http.MethodGet
	case ResultsPath:
		method = http.MethodPost
	default:
		reply(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		reply(w, http.StatusMethodNotAllowed, "use %s", method)
		return
	}
	// What the headers alone refuse is refused before a body is read.
	_, _, _, _, err := s.signedHeaders(r)
	var refused authError
	if errors.As(err, &refused) {
		s.refuse(w, r, refused)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		reply(w, http.StatusRequestEntityTooLarge, "%v", ErrTooLarge)
		return
	case err != nil:
		reply(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	a, err := s.authenticate(r.Context(), r, path, body)
	switch {
	case errors.As(err, &refused):
		s.refuse(w, r, refused)
		return
	case err != nil:
		s.log.Error("agent: request not taken", "path", path, "err", err)
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, "try again")
		return
	}
	s.mu.Lock()
	s.heard[a.Name] = s.now()
	s.mu.Unlock()
	if path == ChecksPath {
		s.serveChecks(w, r, a)
	} else {
		s.serveResults(w, r, a, body)
	}
}

// refuse answers 401 with the reason, and logs it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, reason authError) {
	s.log.Warn("agent: request refused", "location", clip(strings.ToValidUTF8(r.Header.Get(HeaderLocation), "?"), 64),
		"remote", r.RemoteAddr, "path", r.URL.Path, "reason", string(reason))
	reply(w, http.StatusUnauthorized, "%s", reason)
}

// serveChecks answers the checks assigned to a's location, or 304 when the
// agent has them already.
func (s *Server) serveChecks(w http.ResponseWriter, r *http.Request, a Agent) {
	as, err := s.assignment(a.Location)
	if err != nil {
		s.log.Error("agent: checks not sent", "agent", a.Name, "err", err)
		reply(w, http.StatusInternalServerError, "the checks could not be written")
		return
	}
	w.Header().Set("ETag", as.etag)
	w.Header().Set("Cache-Control", "no-cache")
	if matches(r.Header.Get("If-None-Match"), as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(as.body)
}

// serveResults hands a batch to the sink; results of checks not assigned
// to the agent's location are left out.
func (s *Server) serveResults(w http.ResponseWriter, r *http.Request, a Agent, body []byte) {
	b, err := ParseResults(body, s.now())
	if err != nil {
		reply(w, http.StatusBadRequest, "%v", err)
		return
	}
	as, err := s.assignment(a.Location)
	if err != nil {
		s.log.Error("agent: results not taken", "agent", a.Name, "err", err)
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, "try again")
		return
	}
	kept := b.Results[:0]
	for _, res := range b.Results {
		if as.ids[res.Check] {
			kept = append(kept, res)
		}
	}
	if n := len(b.Results) - len(kept); n > 0 {
		// After a reload an agent still sends what it probed before.
		s.log.Info("agent: results of checks not assigned left out", "agent", a.Name, "results", n)
	}
	b.Results = kept
	if err := s.sink.Results(r.Context(), a, b); err != nil {
		s.log.Error("agent: results not recorded", "agent", a.Name, "results", len(b.Results), "err", err)
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, "not recorded; send it again")
		return
	}
	if b.Dropped > 0 {
		s.log.Warn("agent: results were dropped from a full buffer", "agent", a.Name, "dropped", b.Dropped)
	}
	w.WriteHeader(http.StatusNoContent)
}

// assignment is location's answer at the checks' current version.
func (s *Server) assignment(location string) (*assignment, error) {
	version := s.checks.Version()
	s.mu.Lock()
	as := s.assigned[location]
	s.mu.Unlock()
	if as != nil && as.version == version {
		return as, nil
	}
	as = &assignment{version: version, ids: map[string]bool{}}
	out := Assignment{Checks: []Check{}}
	for _, c := range s.checks.Checks(location) {
		if w, ok := WireCheck(c); ok {
			out.Checks = append(out.Checks, w)
			as.ids[w.ID] = true
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("write the checks of location %s: %w", location, err)
	}
	sum := sha256.Sum256(body)
	as.body, as.etag = body, `"`+hex.EncodeToString(sum[:16])+`"`
	s.mu.Lock()
	for loc, old := range s.assigned {
		if old.version != version {
			delete(s.assigned, loc)
		}
	}
	s.assigned[location] = as
	s.mu.Unlock()
	return as, nil
}

// matches reports whether an If-None-Match header names etag.
func matches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}

// reply answers an error as JSON: {"status":..., "message":...}.
func reply(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"status": http.StatusText(code), "message": fmt.Sprintf(format, args...)})
}
