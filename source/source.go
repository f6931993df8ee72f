package source

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/config"
)

// Action is what a signal says of its alert.
type Action string

// The actions.
const (
	Down Action = "down"
	Up   Action = "up"
	// Ack is an acknowledgement: someone took the alert in hand.
	Ack Action = "ack"
)

// Signal is what a source says of one of its alerts. The engine records
// it, in one transaction with the others of its request, as the check
// Check names.
type Signal struct {
	// Source is the name of the source (sources[].name).
	Source string
	// Key tells the alert from the source's others: Alertmanager's
	// fingerprint, an event's dedup_key, as Key made it.
	Key string
	// Merchant is whose alert it is. An Up or an Ack is of the alert
	// open under Key whoever's it is: a resolve event carries no
	// merchant.
	Merchant string
	Action   Action
	// At is when it began (Down), ended (Up) or was acknowledged.
	At time.Time
	// Title names it to people: "prom/HighErrorRate".
	Title string
	// Summary is what the source says of it, shown as its error.
	Summary string
	Labels  map[string]string
	// Evidence is what the source sent, kept with the record (at most
	// 10 KiB of it).
	Evidence string
}

// Check is the check the signal is about: merchant/source/key.
func (s Signal) Check() string { return s.Merchant + "/" + s.Source + "/" + s.Key }

// SourceOf is the source of a check a source reported
// (merchant/source/key), "" for a configured check (merchant/check).
func SourceOf(check string) string {
	parts := strings.SplitN(check, "/", 4)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// Suffix is the part of Check that does not name the merchant.
func (s Signal) Suffix() string { return "/" + s.Source + "/" + s.Key }

// plainKey is a key that is used as it is; any other is hashed.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// Key makes a key of what a source identifies an alert by: as it is when
// short and plain, else the first 16 hex digits of its SHA-256.
func Key(raw string) string {
	if plainKey.MatchString(raw) {
		return raw
	}
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:8])
}

// Route is one configured source, as its intake reads a request.
type Route struct {
	config.Source
	// Known reports whether a merchant is configured.
	Known func(merchant string) bool
}

// MerchantOf is the merchant an alert with these labels goes to: the one
// merchant_label names, when that is configured, else the source's.
func (r Route) MerchantOf(labels map[string]string) string {
	if r.MerchantLabel != "" {
		if m := labels[r.MerchantLabel]; m != "" && r.Known != nil && r.Known(m) {
			return m
		}
	}
	return r.Merchant
}

// Batch is what one request carries.
type Batch struct {
	Signals []Signal
	// Token is the token the body carries, for a kind that carries it
	// there (events' routing_key); empty for the others, which carry it
	// as "Authorization: Bearer".
	Token string
	// Reply is the JSON the intake answers with, beside the status.
	Reply any
}

// Intake reads one kind of request.
type Intake interface {
	// Read reads a request's body into signals, or fails with the reason
	// the body cannot be read. It writes nothing.
	Read(body []byte, r Route, now time.Time) (Batch, error)
	// TokenInBody says the request carries its token in the body.
	TokenInBody() bool
}

var intakes = map[string]Intake{}

// Register makes kind a source kind the configuration accepts; called by
// each intake's init.
func Register(kind string, in Intake) {
	if _, dup := intakes[kind]; dup {
		panic("source: kind " + kind + " registered twice")
	}
	intakes[kind] = in
	config.SourceKinds = append(config.SourceKinds, kind)
}

// Of returns the intake of kind.
func Of(kind string) (Intake, bool) {
	in, ok := intakes[kind]
	return in, ok
}

// Sink takes the signals of one request and returns once they are
// durably written, or with the reason they are not.
type Sink interface {
	Take(ctx context.Context, sigs []Signal) error
}

// MaxBody is the largest request an intake reads.
const MaxBody = 1 << 20

// MaxEvidence is how much of what a source sent is kept with a signal.
const MaxEvidence = 10 << 10

// Handler serves POST /intake/KIND/NAME for the configured sources.
type Handler struct {
	routes   map[string]Route
	sink     Sink
	now      func() time.Time
	log      *slog.Logger
	requests *prometheus.CounterVec
	signals  *prometheus.CounterVec
}

// NewHandler serves the sources of cfg, handing their signals to sink,
// and counts what it takes in reg.
func NewHandler(cfg *config.Config, sink Sink, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*Handler, error) {
	known := map[string]bool{}
	for _, m := range cfg.Merchants {
		known[m.Name] = true
	}
	h := &Handler{routes: map[string]Route{}, sink: sink, now: now, log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostwatch_intake_requests_total", Help: "Requests to the intakes, by source and status code.",
		}, []string{"source", "code"}),
		signals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostwatch_intake_signals_total", Help: "Signals the intakes recorded, by source and action (down, up, ack).",
		}, []string{"source", "action"}),
	}
	for _, c := range []prometheus.Collector{h.requests, h.signals} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	for _, s := range cfg.Sources {
		h.routes[s.Name] = Route{Source: s, Known: func(m string) bool { return known[m] }}
		for _, code := range []int{http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized} {
			h.requests.WithLabelValues(s.Name, strconv.Itoa(code))
		}
	}
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	h.serve(rec, r)
	name := "-" // not one of the sources: no series of its own
	if _, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/intake/"), "/"); h.routes[rest].Name != "" {
		name = rest
	}
	h.requests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
}

// statusRecorder keeps the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	kind, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/intake/"), "/")
	route, found := h.routes[name]
	in, known := Of(kind)
	if !ok || !found || !known || route.Kind != kind {
		reply(w, http.StatusNotFound, "no source of kind %q is named %q", kind, name)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "send the alerts with POST")
		return
	}
	if !in.TokenInBody() && !carries(bearer(r), route.Token.Value()) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hostwatch"`)
		reply(w, http.StatusUnauthorized, "a wrong or missing bearer token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		reply(w, http.StatusRequestEntityTooLarge, "the body is over %d bytes", MaxBody)
		return
	case err != nil:
		reply(w, http.StatusBadRequest, "the body could not be read: %v", err)
		return
	}
	b, err := in.Read(body, route, h.now())
	if err != nil {
		reply(w, http.StatusBadRequest, "%v", err)
		return
	}
	if in.TokenInBody() && !carries(b.Token, route.Token.Value()) {
		reply(w, http.StatusUnauthorized, "a wrong or missing routing_key")
		return
	}
	if len(b.Signals) > 0 {
		if err := h.sink.Take(r.Context(), b.Signals); err != nil {
			h.log.Error("intake not recorded", "source", name, "signals", len(b.Signals), "err", err)
			w.Header().Set("Retry-After", "5")
			reply(w, http.StatusServiceUnavailable, "not recorded; send it again")
			return
		}
	}
	h.log.Info("intake recorded", "source", name, "signals", len(b.Signals))
	for _, sig := range b.Signals {
		h.signals.WithLabelValues(name, string(sig.Action)).Inc()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	if b.Reply == nil {
		b.Reply = map[string]any{"status": "success", "signals": len(b.Signals)}
	}
	json.NewEncoder(w).Encode(b.Reply)
}

// bearer is the token of "Authorization: Bearer TOKEN", the scheme in any
// letter case.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// carries compares a token in constant time; an empty want matches
// nothing.
func carries(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// reply answers an error as JSON: {"status":"invalid","message":...}.
func reply(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"status": http.StatusText(code), "message": fmt.Sprintf(format, args...)})
}

// Evidence cuts what a source sent to MaxEvidence, on a UTF-8 boundary.
func Evidence(b []byte) string {
	if len(b) <= MaxEvidence {
		return string(b)
	}
	cut := MaxEvidence
	for cut > 0 && b[cut]&0xC0 == 0x80 {
		cut--
	}
	return string(b[:cut])
}

// decode reads JSON data into v, or says what in it is wrong and what was
// expected there; at is where data stands in the body ("alerts[2]"),
// empty for the body itself.
func decode(data []byte, v any, at string) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("the body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typ):
		where := at
		if typ.Field != "" {
			where = strings.TrimPrefix(at+"."+typ.Field, ".")
		}
		if where == "" {
			where = "the body"
		}
		return fmt.Errorf("%s: a JSON %s where %s must be", where, typ.Value, jsonKind(typ.Type))
	}
	return fmt.Errorf("the body could not be read as JSON: %v", err)
}

// jsonKind names the JSON value a Go type is read from.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a value"
}
