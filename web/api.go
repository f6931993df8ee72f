package web

import (
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/source"
	"log/slog"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

// Record is what the status page and the API read.
type Record interface {
	Statuses() []monitor.Status
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	Stats(ctx context.Context, check string, from, to time.Time) ([]store.Stat, error)
	Report(ctx context.Context, merchants []string, period string) (*report.Report, error)
	// Origins are what the sources said of the alerts they reported.
	Origins(ctx context.Context) (map[string]store.Origin, error)
}

// StatusOptions configure the status page and the API.
type StatusOptions struct {
	Record Record
	// Public lets anyone read; otherwise a request needs Token.
	Public     bool
	Token      string
	Title      string
	ShowErrors bool
	// Merchants limits what is shown; all when empty.
	Merchants []string
	Location  *time.Location
	Now       func() time.Time
	// Members lists the live instances for /api/v1/cluster; nil leaves
	// it out.
	Members func() []store.Instance
	// Locations lists where checks are probed from, for
	// /api/v1/locations; nil leaves it out.
	Locations func() []LocationJSON
	// Outages lists the providers' outages in progress, each shown as a
	// banner on the pages it touches; nil shows none.
	Outages func(ctx context.Context) ([]ProviderOutage, error)
	// Words put the page into Lang (English when empty), with the names
	// people know the merchants and checks by; the built-in templates
	// when nil.
	Words *locale.Templates
	Lang  locale.Lang
	Names locale.Names
	// Private are the sources whose alerts are not shown
	// (sources[].public: false).
	Private []string
}

// ProviderOutage is a hosting provider that looks down: Down of its Of
// checks are.
type ProviderOutage struct {
	Name     string
	Down, Of int
	// Checks are the provider's checks: the banner shows on a page with
	// one of them.
	Checks []string
}

// status serves the status page and the API.
type status struct {
	o     StatusOptions
	words *locale.Templates
	log   *slog.Logger
}

func (s *status) routes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/checks", s.guard(s.checks))
	mux.Handle("GET /api/v1/incidents", s.guard(s.incidents))
	mux.Handle("GET /api/v1/report", s.guard(s.report))
	if s.o.Members != nil {
		mux.Handle("GET /api/v1/cluster", s.guard(s.cluster))
	}
	if s.o.Locations != nil {
		mux.Handle("GET /api/v1/locations", s.guard(s.locations))
	}
	mux.Handle("GET /{$}", s.guard(s.page))
	mux.Handle("GET /m/{merchant}", s.guard(s.merchantPage))
}

// guard refuses a request without the token when the page is not public.
func (s *status) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.o.Public && !Carries(r, s.o.Token, true) {
			unauthorized(w, "a token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	})
}

func (s *status) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// shown reports whether a merchant's checks are shown.
func (s *status) shown(merchant string) bool {
	return len(s.o.Merchants) == 0 || slices.Contains(s.o.Merchants, merchant)
}

// merchantsParam reads ?merchant=, which must name a shown merchant; nil
// means every shown one.
func (s *status) merchantsParam(r *http.Request) ([]string, error) {
	m := r.URL.Query().Get("merchant")
	if m == "" {
		if len(s.o.Merchants) == 0 {
			return nil, nil
		}
		return s.o.Merchants, nil
	}
	known := false
	for _, st := range s.o.Record.Statuses() {
		known = known || merchantOf(st.Check.ID) == m
	}
	if !known || !s.shown(m) {
		return nil, errors.New("no merchant is named " + strconv.Quote(m))
	}
	return []string{m}, nil
}

// shownMerchants lists every merchant shown, with checks or not: never
// nil, which would mean all.
func (s *status) shownMerchants() []string {
	out := []string{}
	for _, st := range s.o.Record.Statuses() {
		if m := merchantOf(st.Check.ID); s.shown(m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func merchantOf(check string) string {
	m, _, _ := strings.Cut(check, "/")
	return m
}

// CheckJSON is one check in GET /api/v1/checks.
type CheckJSON struct {
	Check         string     `json:"check"`
	Merchant      string     `json:"merchant"`
	DisplayName   string     `json:"display_name,omitempty"`          // the check's, when it has one
	MerchantName  string     `json:"merchant_display_name,omitempty"` // the merchant's, when it has one
	Kind          string     `json:"kind"`
	State         string     `json:"state"`
	Since         *time.Time `json:"since"`
	LastProbe     *time.Time `json:"last_probe"`
	LastLatencyMS *float64   `json:"last_latency_ms"`
	LastError     string     `json:"last_error,omitempty"`
	Incident      int64      `json:"incident,omitempty"`
	// Locations is what each location sees of a check probed from
	// several; State is then theirs combined.
	Locations []SeenJSON `json:"locations,omitempty"`
}

// SeenJSON is what one location sees of a check: up, down or unknown,
// and whether the location is cut off (then it does not count).
type SeenJSON struct {
	Location string `json:"location"`
	State    string `json:"state"`
	CutOff   bool   `json:"cut_off,omitempty"`
}

func (s *status) checks(w http.ResponseWriter, r *http.Request) {
	merchants, err := s.merchantsParam(r)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	out := []CheckJSON{}
	for _, st := range s.o.Record.Statuses() {
		m := merchantOf(st.Check.ID)
		if !s.shown(m) || (merchants != nil && !slices.Contains(merchants, m)) {
			continue
		}
		c := CheckJSON{Check: st.Check.ID, Merchant: m, Kind: st.Check.Kind(), State: string(st.State.State),
			Since: s.when(st.State.Since), LastProbe: s.when(st.LastAt), Incident: st.State.Incident,
			DisplayName: s.o.Names[st.Check.ID], MerchantName: s.o.Names[m]}
		for _, seen := range st.Seen {
			c.Locations = append(c.Locations, SeenJSON{Location: seen.Location, State: string(seen.State), CutOff: seen.Cut})
		}
		if !st.LastAt.IsZero() {
			ms := float64(st.Last.Latency.Microseconds()) / 1000
			c.LastLatencyMS = &ms
			if s.o.ShowErrors {
				c.LastError = st.Last.Error
			}
		}
		out = append(out, c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *status) when(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.In(s.o.Location)
	return &t
}

// IncidentJSON is one incident in GET /api/v1/incidents.
type IncidentJSON struct {
	ID    int64  `json:"id"`
	Check string `json:"check"`
	// Source and Title name an alert a source reported.
	Source          string     `json:"source,omitempty"`
	Title           string     `json:"title,omitempty"`
	Start           time.Time  `json:"start"`
	End             *time.Time `json:"end"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	AcknowledgedBy  string     `json:"acknowledged_by,omitempty"`
	ResolvedBy      string     `json:"resolved_by,omitempty"`
	DowntimeSeconds int64      `json:"downtime_seconds"`
	Errors          []string   `json:"errors,omitempty"`
}

func (s *status) incidents(w http.ResponseWriter, r *http.Request) {
	merchants, err := s.merchantsParam(r)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	f := store.IncidentFilter{Merchants: merchants, Limit: 100}
	switch r.URL.Query().Get("state") {
	case "", "all":
	case "open":
		f.OpenOnly = true
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "state is open or all"})
		return
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit is a number from 1 to 1000"})
			return
		}
		f.Limit = n
	}
	ins, err := s.o.Record.Incidents(r.Context(), f)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the record cannot be read just now"})
		return
	}
	var origins map[string]store.Origin
	if slices.ContainsFunc(ins, func(in store.Incident) bool { return source.SourceOf(in.Check) != "" }) {
		if origins, err = s.o.Record.Origins(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the record cannot be read just now"})
			return
		}
	}
	out := []IncidentJSON{}
	for _, in := range ins {
		o := origins[in.Check]
		if !s.shown(merchantOf(in.Check)) || slices.Contains(s.o.Private, o.Source) {
			continue
		}
		j := IncidentJSON{ID: in.ID, Check: in.Check, Source: o.Source, Title: o.Title, Start: in.Start.In(s.o.Location), End: s.when(in.End),
			AcknowledgedAt: s.when(in.FirstAckAt), AcknowledgedBy: in.FirstAckBy, ResolvedBy: in.ResolvedBy,
			DowntimeSeconds: int64(in.Downtime(s.now()).Round(time.Second) / time.Second)}
		if s.o.ShowErrors {
			for _, e := range in.Errors {
				j.Errors = append(j.Errors, e.FirstError)
			}
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *status) report(w http.ResponseWriter, r *http.Request) {
	merchants, err := s.merchantsParam(r)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	if merchants == nil {
		merchants = s.shownMerchants()
	}
	rep, err := s.o.Record.Report(r.Context(), merchants, r.URL.Query().Get("since"))
	if errors.Is(err, report.ErrPeriod) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "since: " + err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the record cannot be read just now"})
		return
	}
	if !s.o.ShowErrors {
		rep.HideErrors()
	}
	var body bytes.Buffer
	var werr error
	switch r.URL.Query().Get("format") {
	case "", "json":
		w.Header().Set("Content-Type", "application/json")
		werr = rep.JSON(&body, s.o.Location)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="hostwatch-report.csv"`)
		werr = rep.CSV(&body, s.o.Location, report.CSVOptions{})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "format is json or csv"})
		return
	}
	if werr != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the report could not be written"})
		return
	}
	w.Write(body.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// InstanceJSON is one live instance in /api/v1/cluster.
type InstanceJSON struct {
	Instance string     `json:"instance"`
	Location string     `json:"location,omitempty"`
	Role     string     `json:"role"`
	Checks   int        `json:"checks"`
	Since    *time.Time `json:"since"` // from when it takes checks
	Seen     *time.Time `json:"seen"`  // its last heartbeat
	Until    *time.Time `json:"until"` // its lease ends unless renewed
}

// cluster lists the live instances, what each does, and how many checks
// each probes; no host or process, which a public page must not show.
func (s *status) cluster(w http.ResponseWriter, r *http.Request) {
	out := []InstanceJSON{}
	for _, in := range s.o.Members() {
		out = append(out, InstanceJSON{Instance: in.Name, Location: in.Location, Role: in.Role, Checks: in.Checks,
			Since: s.when(in.Since), Seen: s.when(in.Seen), Until: s.when(in.Until)})
	}
	writeJSON(w, http.StatusOK, out)
}

// LocationJSON is one place checks are probed from, in /api/v1/locations:
// this process's (Self), or probe agents'. Up says it was heard from
// lately: this process always is; an agent's location when one of its
// agents sent a request within isolation.silence.
type LocationJSON struct {
	Location string      `json:"location"`
	Self     bool        `json:"self"`
	Up       bool        `json:"up"`
	Checks   int         `json:"checks"`
	Agents   []AgentJSON `json:"agents,omitempty"`
}

// AgentJSON is one probe agent of a location, and when it was last heard
// from.
type AgentJSON struct {
	Name string     `json:"name"`
	Seen *time.Time `json:"seen"`
}

func (s *status) locations(w http.ResponseWriter, r *http.Request) {
	out := s.o.Locations()
	for i := range out {
		for j := range out[i].Agents {
			if a := &out[i].Agents[j]; a.Seen != nil {
				a.Seen = s.when(*a.Seen)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
