package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

// record is a fixed record: kim-shop/web down since t0 with one open
// incident, lee-shop/web up after an outage of 10 minutes yesterday; with
// alerts, also an alert of source prom that fires for lee-shop since t0.
type record struct{ alerts bool }

func (r record) Origins(context.Context) (map[string]store.Origin, error) {
	if !r.alerts {
		return nil, nil
	}
	return map[string]store.Origin{"lee-shop/prom/9f2c4e1a": {Source: "prom", Title: "prom/HighErrorRate"}}, nil
}

func (record) Statuses() []monitor.Status {
	kim := &config.Check{ID: "kim-shop/web", HTTP: &config.HTTPCheck{URL: "http://kim.example/"}}
	lee := &config.Check{ID: "lee-shop/web", TCP: &config.TCPCheck{Address: "lee.example:443"}}
	return []monitor.Status{
		{Check: kim, State: store.CheckState{State: store.Down, Since: t0, Incident: 2}, LastAt: t0.Add(time.Minute),
			Last: checksResult(false, "dial tcp 10.1.2.3:443: connection refused")},
		{Check: lee, State: store.CheckState{State: store.Up, Since: t0.Add(-24 * time.Hour)}, LastAt: t0.Add(time.Minute),
			Last: checksResult(true, "")},
	}
}

func (r record) incidents() []store.Incident {
	var alerts []store.Incident
	if r.alerts {
		alerts = append(alerts, store.Incident{ID: 3, Check: "lee-shop/prom/9f2c4e1a", Start: t0})
	}
	return append(alerts,
		store.Incident{ID: 2, Check: "kim-shop/web", Start: t0, Errors: []store.ErrorSummary{{Kind: "refused", Count: 3, FirstError: "dial tcp 10.1.2.3:443: connection refused"}}},
		store.Incident{ID: 1, Check: "lee-shop/web", Start: t0.Add(-24 * time.Hour), End: t0.Add(-24*time.Hour + 10*time.Minute), FirstAckAt: t0.Add(-24*time.Hour + time.Minute), FirstAckBy: "@lee"},
	)
}

func (r record) Incidents(_ context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	var out []store.Incident
	for _, in := range r.incidents() {
		m, _, _ := strings.Cut(in.Check, "/")
		if (f.Merchants == nil || contains(f.Merchants, m)) && (!f.OpenOnly || in.Open()) {
			out = append(out, in)
		}
	}
	return out, nil
}

func (record) Windows(context.Context, time.Time, time.Time) ([]store.Window, error) { return nil, nil }

func (record) Stats(_ context.Context, check string, from, to time.Time) ([]store.Stat, error) {
	return []store.Stat{{Check: check, Period: t0.Add(-24 * time.Hour).Truncate(time.Hour), OK: 100}}, nil
}

func (r record) Report(ctx context.Context, merchants []string, period string) (*report.Report, error) {
	rp := report.Reporter{Source: r, Checks: []string{"kim-shop/web", "lee-shop/web"}, Location: time.UTC,
		Covers: func(string, string) bool { return false }, Now: func() time.Time { return t0.Add(time.Hour) }}
	return rp.Report(ctx, merchants, period)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func statusServer(t *testing.T, o StatusOptions) *httptest.Server {
	t.Helper()
	if o.Record == nil {
		o.Record = record{}
	}
	o.Location, o.Now = time.UTC, func() time.Time { return t0.Add(time.Hour) }
	if o.Title == "" {
		o.Title = "Shops"
	}
	srv := httptest.NewServer(New(Options{Store: pinger{}, Gatherer: prometheus.NewRegistry(), Status: &o}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	srv := statusServer(t, StatusOptions{Public: true})
	tests := []struct {
		path string
		code int
		want []string
		not  []string
	}{
		{"/api/v1/checks", 200, []string{`"check": "kim-shop/web"`, `"state": "down"`, `"kind": "tcp"`, `"incident": 2`}, []string{"10.1.2.3"}},
		{"/api/v1/checks?merchant=lee-shop", 200, []string{`"lee-shop/web"`}, []string{"kim-shop"}},
		{"/api/v1/checks?merchant=nobody", 404, []string{`no merchant is named \"nobody\"`}, nil},
		{"/api/v1/incidents?state=open", 200, []string{`"id": 2`, `"end": null`}, []string{`"id": 1`}},
		{"/api/v1/incidents", 200, []string{`"id": 1`, `"acknowledged_by": "@lee"`, `"downtime_seconds": 600`}, nil},
		{"/api/v1/incidents?state=sideways", 400, []string{"state is open or all"}, nil},
		{"/api/v1/incidents?limit=0", 400, []string{"limit"}, nil},
		{"/api/v1/report?since=7d", 200, []string{`"period": "7d"`, `"uptime_percent": 99.404`, `"downtime_seconds": 3600`}, nil},
		{"/api/v1/report?since=forever", 400, []string{"since:"}, nil},
		{"/api/v1/report?format=xml", 400, []string{"format is json or csv"}, nil},
	}
	for _, tt := range tests {
		code, body := get(t, srv.URL+tt.path)
		if code != tt.code {
			t.Errorf("%s: %d, want %d: %s", tt.path, code, tt.code, body)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s:\n%s", tt.path, w, body)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s shows %s", tt.path, n)
			}
		}
	}
	code, body := get(t, srv.URL+"/api/v1/report?since=7d&format=csv&merchant=kim-shop")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 2 || rows[1][1] != "kim-shop/web" {
		t.Errorf("csv report: %d %q %v", code, rows, err)
	}
	var checks []CheckJSON
	_, body = get(t, srv.URL+"/api/v1/checks")
	if err := json.Unmarshal([]byte(body), &checks); err != nil || len(checks) != 2 {
		t.Errorf("checks do not decode: %v", err)
	}
}

func TestStatusPageAccess(t *testing.T) {
	private := statusServer(t, StatusOptions{Token: "s3cret", ShowErrors: true, Merchants: []string{"kim-shop"}})
	tests := []struct {
		name   string
		url    string
		header []string
		code   int
	}{
		{"no token", "/", nil, 401},
		{"wrong token", "/?token=nope", nil, 401},
		{"bearer", "/", []string{"Authorization", "Bearer s3cret"}, 200},
		{"query", "/?token=s3cret", nil, 200},
		{"api without token", "/api/v1/checks", nil, 401},
		{"merchant not shown", "/m/lee-shop?token=s3cret", nil, 404},
		{"merchant page", "/m/kim-shop?token=s3cret", nil, 200},
	}
	for _, tt := range tests {
		code, _ := get(t, private.URL+tt.url, tt.header...)
		if code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.code)
		}
	}
	_, page := get(t, private.URL+"/?token=s3cret")
	for _, w := range []string{`data-check="web" data-state="down"`, "1 check is down", "connection refused", "#2 kim-shop/web", `href="/m/kim-shop?token=s3cret"`} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %s", w)
		}
	}
	if strings.Contains(page, "lee-shop") || strings.Contains(page, "http://") && strings.Contains(page, "cdn") {
		t.Error("page shows a merchant it should not, or loads from elsewhere")
	}
	public := statusServer(t, StatusOptions{Public: true})
	_, page = get(t, public.URL+"/m/lee-shop")
	if !strings.Contains(page, `data-state="up"`) || strings.Contains(page, "kim-shop") || !strings.Contains(page, "10m00s") {
		t.Errorf("lee-shop's page:\n%s", page)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "https://") {
		t.Error("the page loads something from elsewhere")
	}
}

func checksResult(ok bool, err string) checks.Result {
	return checks.Result{OK: ok, Latency: 41 * time.Millisecond, Error: err}
}

// TestNothingBeyondTheFilter: a page limited to a merchant with no checks
// shows no other merchant's incidents, and without show_errors the report
// carries no probe error.
func TestNothingBeyondTheFilter(t *testing.T) {
	empty := statusServer(t, StatusOptions{Public: true, Merchants: []string{"new-shop"}})
	for _, path := range []string{"/", "/api/v1/report", "/api/v1/incidents", "/api/v1/checks"} {
		if _, body := get(t, empty.URL+path); strings.Contains(body, "kim-shop") || strings.Contains(body, "lee-shop") {
			t.Errorf("%s shows a merchant not in the filter:\n%s", path, body)
		}
	}
	quiet := statusServer(t, StatusOptions{Public: true})
	for _, path := range []string{"/api/v1/report", "/api/v1/report?format=csv", "/api/v1/incidents", "/"} {
		if _, body := get(t, quiet.URL+path); strings.Contains(body, "10.1.2.3") {
			t.Errorf("%s shows a probe error without show_errors", path)
		}
	}
}

// TestClusterAPI: /api/v1/cluster lists the live instances with their
// location, role and checks, and nothing of their host or process; it
// follows the status page's token.
func TestClusterAPI(t *testing.T) {
	members := func() []store.Instance {
		return []store.Instance{
			{Name: "web-1", Location: "seoul", Role: "leader", Checks: 1004, Host: "db-host-7", PID: 4242, Since: t0, Seen: t0, Until: t0.Add(8 * time.Second)},
			{Name: "web-2", Role: "member", Checks: 996, Host: "db-host-8", PID: 4343, Since: t0, Seen: t0, Until: t0.Add(8 * time.Second)},
		}
	}
	public := statusServer(t, StatusOptions{Public: true, Members: members})
	code, body := get(t, public.URL+"/api/v1/cluster")
	var got []InstanceJSON
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got) != 2 ||
		got[0].Instance != "web-1" || got[0].Location != "seoul" || got[0].Role != "leader" || got[0].Checks != 1004 || got[1].Checks != 996 {
		t.Errorf("cluster: %d %s (%v)", code, body, err)
	}
	if strings.Contains(body, "db-host") || strings.Contains(body, "4242") {
		t.Errorf("the cluster shows hosts or processes: %s", body)
	}
	private := statusServer(t, StatusOptions{Token: "s3cret", Members: members})
	if code, _ := get(t, private.URL+"/api/v1/cluster"); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
}

// TestStatusPageInKorean: with language ko the page says <html lang="ko">,
// speaks Korean and shows the display names, while its data attributes
// keep the ids.
func TestStatusPageInKorean(t *testing.T) {
	srv := statusServer(t, StatusOptions{Public: true, Lang: locale.Korean,
		Names: locale.Names{"kim-shop": "김씨네 가게", "kim-shop/web": "쇼핑몰 메인"}})
	_, page := get(t, srv.URL+"/")
	for _, w := range []string{`<html lang="ko">`, `data-merchant="kim-shop"`, "김씨네 가게", `data-check="web" data-state="down"`,
		"쇼핑몰 메인", "점검 1개 장애", "진행 중인 장애", "#2 김씨네 가게 / 쇼핑몰 메인 (kim-shop/web):", "최근 90일 가동 기록", "가동률 ", "hostwatch가 외부에서 점검"} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %s", w)
		}
	}
	for _, english := range []string{"checks are", "is down", "since", "days ago", "Open incidents", "no downtime", "no data"} {
		if strings.Contains(page, english) {
			t.Errorf("the Korean page says %q", english)
		}
	}
	_, page = get(t, srv.URL+"/m/kim-shop")
	if !strings.Contains(page, "<h1>김씨네 가게</h1>") {
		t.Errorf("the merchant's page is not headed by its name:\n%s", page)
	}
	// The API names them too, beside the ids.
	_, body := get(t, srv.URL+"/api/v1/checks")
	var checks []CheckJSON
	if err := json.Unmarshal([]byte(body), &checks); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range checks {
		found = found || c.Check == "kim-shop/web"
		if c.Check == "kim-shop/web" && (c.DisplayName != "쇼핑몰 메인" || c.MerchantName != "김씨네 가게") {
			t.Errorf("the API's check: %+v", c)
		}
		if c.Check != "kim-shop/web" && c.DisplayName != "" {
			t.Errorf("a check without a display name has one in the API: %+v", c)
		}
	}
	if !found || len(checks) < 2 {
		t.Errorf("the API lists %+v", checks)
	}
}

// storeRecord is the record as the daemon reads it: a store, the report of
// its checks, and the monitor's statuses.
type storeRecord struct {
	*sqlite.DB
	*report.Reporter
	statuses []monitor.Status
}

func (r storeRecord) Statuses() []monitor.Status { return r.statuses }

// newShop is a record at t0+48m: new-shop/web down since its first probe
// at t0 (14:02:10), new-shop/db up from t0 and down for the last five
// minutes, new-shop/api never probed, new-shop/cart failing its first
// probe a minute ago, and calm-shop/web up for days.
func newShop(t *testing.T) (storeRecord, time.Time) {
	t.Helper()
	ctx := context.Background()
	now := t0.Add(48 * time.Minute)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ids := []string{"calm-shop/web", "new-shop/db", "new-shop/api", "new-shop/cart", "new-shop/web"}
	if err := db.Register(ctx, ids); err != nil {
		t.Fatal(err)
	}
	dbDown := now.Add(-5 * time.Minute)
	states := map[string]store.CheckState{
		"calm-shop/web": {State: store.Up, Since: t0.Add(-48 * time.Hour), First: t0.Add(-48 * time.Hour), Probed: now},
		"new-shop/db":   {State: store.Down, Since: dbDown, First: t0, Probed: now},
		"new-shop/api":  {State: store.Unknown},
		"new-shop/cart": {State: store.Unknown, FailStreak: 1, StreakSince: now.Add(-time.Minute), First: now.Add(-time.Minute), Probed: now.Add(-time.Minute)},
		"new-shop/web":  {State: store.Down, Since: t0, First: t0, Probed: now},
	}
	changes := []store.Change{
		{Check: "calm-shop/web", From: store.Unknown, To: store.Up, Since: t0.Add(-48 * time.Hour)},
		{Check: "new-shop/db", From: store.Unknown, To: store.Up, Since: t0},
		{Check: "new-shop/db", From: store.Up, To: store.Down, Since: dbDown},
		{Check: "new-shop/web", From: store.Unknown, To: store.Down, Since: t0},
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		for _, c := range changes {
			c.Confirmed, c.Now = c.Since, c.Since
			if err := tx.RecordChange(ctx, c); err != nil {
				return err
			}
		}
		for id, s := range states {
			s.Check = id
			if err := tx.SaveCheckState(ctx, s); err != nil {
				return err
			}
		}
		// The hour's aggregates start at 14:00, before any probe of new-shop.
		return tx.AddStats(ctx, []store.Stat{{Check: "new-shop/web", Period: t0.Truncate(time.Hour), Failed: 48},
			{Check: "new-shop/db", Period: t0.Truncate(time.Hour), OK: 43, Failed: 5},
			{Check: "calm-shop/web", Period: t0.Truncate(time.Hour), OK: 48}})
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := storeRecord{DB: db, Reporter: &report.Reporter{Source: db, Checks: ids, Location: time.UTC,
		Covers: func(string, string) bool { return false }, Now: func() time.Time { return now }}}
	for _, id := range ids {
		c := &config.Check{ID: id, HTTP: &config.HTTPCheck{URL: "http://" + id}}
		st := monitor.Status{Check: c, State: states[id]}
		st.LastAt = st.State.Probed
		rec.statuses = append(rec.statuses, st)
	}
	return rec, now
}

// checkBlocks cuts a page into its checks' blocks, "merchant/check" to
// its HTML, and lists them in the page's order.
func checkBlocks(page string) (map[string]string, []string) {
	blocks := map[string]string{}
	var order []string
	for _, section := range strings.Split(page, `<section class="merchant" data-merchant="`)[1:] {
		merchant, _, _ := strings.Cut(section, `"`)
		section, _, _ = strings.Cut(section, "</section>")
		for _, block := range strings.Split(section, `<div class="check" data-check="`)[1:] {
			name, _, _ := strings.Cut(block, `"`)
			blocks[merchant+"/"+name] = block
			order = append(order, merchant+"/"+name)
		}
	}
	return blocks, order
}

var dayClass = regexp.MustCompile(`<span class="(\w+)" title=`)

// days are the classes of a check's bar, oldest first.
func days(block string) []string {
	var out []string
	for _, m := range dayClass.FindAllStringSubmatch(block, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestStatusPageStates: a check down since its first probe is 0% up, not
// measured from the hour before it; one down now is red today however
// short its outage; one never probed is grey throughout with no figure;
// and what is down is listed first, merchants and checks alike.
func TestStatusPageStates(t *testing.T) {
	rec, now := newShop(t)
	for _, lang := range []locale.Lang{locale.English, locale.Korean} {
		o := &StatusOptions{Record: rec, Public: true, Title: "Shops", Location: time.UTC, Lang: lang,
			Now: func() time.Time { return now }}
		srv := httptest.NewServer(New(Options{Store: pinger{}, Gatherer: prometheus.NewRegistry(), Status: o}))
		_, page := get(t, srv.URL+"/")
		srv.Close()
		blocks, order := checkBlocks(page)
		if want := []string{"new-shop/db", "new-shop/web", "new-shop/api", "new-shop/cart", "calm-shop/web"}; !slices.Equal(order, want) {
			t.Errorf("%s: checks in the order %v, want %v", lang, order, want)
		}
		words := map[locale.Lang]map[string]string{
			locale.English: {"0%": "0.000% up", "db": "89.583% up", "none": "no data", "never": "not probed yet", "up": "100.000% up", "checking": "checking"},
			locale.Korean:  {"0%": "가동률 0.000%", "db": "가동률 89.583%", "none": "데이터 없음", "never": "점검 전", "up": "가동률 100.000%", "checking": "확인 중"},
		}[lang]
		tests := []struct {
			check, state, uptime, today string
			grey                        bool // every day of the bar
		}{
			{"new-shop/web", "down", words["0%"], "major", false},
			{"new-shop/db", "down", words["db"], "major", false},
			{"new-shop/api", "unknown", words["none"], "none", true},
			{"new-shop/cart", "unknown", words["up"], "up", false},
			{"calm-shop/web", "up", words["up"], "up", false},
		}
		for _, tt := range tests {
			b := blocks[tt.check]
			d := days(b)
			if len(d) != barDays {
				t.Fatalf("%s %s: %d days in the bar:\n%s", lang, tt.check, len(d), b)
			}
			if !strings.Contains(b, `data-state="`+tt.state+`"`) || !strings.Contains(b, "<span>"+tt.uptime+"</span>") || d[barDays-1] != tt.today {
				t.Errorf("%s %s: want %s, %q, today %s:\n%s", lang, tt.check, tt.state, tt.uptime, tt.today, b)
			}
			if grey := !slices.ContainsFunc(d, func(c string) bool { return c != "none" }); grey != tt.grey {
				t.Errorf("%s %s: all grey %v, want %v: %v", lang, tt.check, grey, tt.grey, d)
			}
		}
		if api := blocks["new-shop/api"]; !strings.Contains(api, words["never"]) || strings.Contains(api, "no data up") || strings.Contains(api, "가동률 데이터") {
			t.Errorf("%s: the check never probed:\n%s", lang, api)
		}
		if cart := blocks["new-shop/cart"]; !strings.Contains(cart, `<span class="state unknown">`+words["checking"]) {
			t.Errorf("%s: the check probed, neither up nor down yet:\n%s", lang, cart)
		}
	}
}

// TestProviderOutageBanner: a provider's outage in progress is a banner
// naming it and its count, in the page's language, on the pages that show
// one of its checks, and on no other.
func TestProviderOutageBanner(t *testing.T) {
	outages := func(context.Context) ([]ProviderOutage, error) {
		return []ProviderOutage{{Name: "examplehost", Down: 37, Of: 40, Checks: []string{"kim-shop/web", "elsewhere/web"}}}, nil
	}
	tests := []struct {
		name    string
		o       StatusOptions
		path    string
		want    string // "" for no banner
		nothing string
	}{
		{"English", StatusOptions{Public: true, Outages: outages}, "/", "examplehost looks down: 37 of 40", ""},
		{"Korean", StatusOptions{Public: true, Outages: outages, Lang: locale.Korean}, "/",
			"examplehost 호스팅 전체 장애 의심: 점검 40개 중 37개 응답 없음", ""},
		{"its merchant's page", StatusOptions{Public: true, Outages: outages}, "/m/kim-shop", "examplehost looks down: 37 of 40", ""},
		{"another merchant's page", StatusOptions{Public: true, Outages: outages}, "/m/lee-shop", "", "examplehost"},
		{"no outage", StatusOptions{Public: true, Outages: func(context.Context) ([]ProviderOutage, error) { return nil, nil }}, "/", "", "provider"},
		{"outages unreadable", StatusOptions{Public: true, Outages: func(context.Context) ([]ProviderOutage, error) {
			return nil, context.DeadlineExceeded
		}}, "/", "", "provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, page := get(t, statusServer(t, tt.o).URL+tt.path)
			banner := `<div class="banner bad provider">` + tt.want
			if tt.want != "" && (code != 200 || !strings.Contains(page, banner)) {
				t.Errorf("%d, the page lacks %s:\n%s", code, banner, page)
			}
			if tt.nothing != "" && (code != 200 || strings.Contains(page, tt.nothing)) {
				t.Errorf("%d, the page shows %q:\n%s", code, tt.nothing, page)
			}
		})
	}
}

// TestSourceAlertsShown: an alert of a source that fires shows on the page
// and in the API with its title and source, as the merchant's trouble;
// not at all when the source is private.
func TestSourceAlertsShown(t *testing.T) {
	public := statusServer(t, StatusOptions{Public: true, Record: record{alerts: true}})
	_, page := get(t, public.URL+"/m/lee-shop")
	if !strings.Contains(page, "prom/HighErrorRate") || !strings.Contains(page, "1 check is down") {
		t.Errorf("lee-shop's page does not show the alert that fires:\n%s", page)
	}
	_, api := get(t, public.URL+"/api/v1/incidents?state=open")
	if !strings.Contains(api, `"source": "prom"`) || !strings.Contains(api, `"title": "prom/HighErrorRate"`) {
		t.Errorf("the API does not name the alert's source:\n%s", api)
	}
	private := statusServer(t, StatusOptions{Public: true, Record: record{alerts: true}, Private: []string{"prom"}})
	for _, path := range []string{"/", "/m/lee-shop", "/api/v1/incidents"} {
		if _, body := get(t, private.URL+path); strings.Contains(body, "HighErrorRate") || strings.Contains(body, "9f2c4e1a") {
			t.Errorf("%s shows a private source's alert:\n%s", path, body)
		}
	}
}

// TestMerchantPageNamesItOnce: a merchant's page says its name once, as
// its heading: not again over its checks, nor in its incidents.
func TestMerchantPageNamesItOnce(t *testing.T) {
	names := locale.Names{"kim-shop": "김씨네 가게", "kim-shop/web": "쇼핑몰 메인"}
	for _, lang := range []locale.Lang{locale.English, locale.Korean} {
		srv := statusServer(t, StatusOptions{Public: true, Lang: lang, Names: names})
		_, page := get(t, srv.URL+"/m/kim-shop")
		_, body, _ := strings.Cut(page, "<body>")
		if n := strings.Count(body, "김씨네 가게"); n != 1 || !strings.Contains(body, "<h1>김씨네 가게</h1>") {
			t.Errorf("%s: the merchant's name %d times:\n%s", lang, n, body)
		}
		if !strings.Contains(body, "#2 쇼핑몰 메인:") {
			t.Errorf("%s: the open incident is not named by its check:\n%s", lang, body)
		}
	}
}
