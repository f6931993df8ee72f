package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a November with three outages of kim-shop/web (one begun in
// October) and two of kim-shop/db around a maintenance window.
func fixture(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Register(ctx, []string{"kim-shop/web", "kim-shop/db", "lee-shop/web", "lee-shop/api", "lee-shop/new"}); err != nil {
		t.Fatal(err)
	}
	outage := func(tx store.Tx, check, start, end string) int64 {
		n, _, err := tx.OpenIncident(ctx, check, at(start), at(start))
		if err != nil {
			t.Fatal(err)
		}
		tx.AddFailures(ctx, []store.Failure{
			{Check: check, At: at(start), Kind: "status", Error: "status 502, want 2xx", Incident: n},
			{Check: check, At: at(start).Add(time.Minute), Kind: "timeout", Error: "no answer within 10s", Incident: n},
			{Check: check, At: at(start).Add(2 * time.Minute), Kind: "status", Error: "status 503, want 2xx", Incident: n},
		})
		if err := tx.ResolveIncident(ctx, n, at(end), "recovery"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		// Probed since October, but lee-shop/api only since November 21
		// and lee-shop/new never.
		for _, c := range []string{"kim-shop/web", "kim-shop/db", "lee-shop/web"} {
			tx.AddStateChange(ctx, store.StateChange{Check: c, At: at("2026-10-01 00:00:00"), From: store.Unknown, To: store.Up})
		}
		tx.AddStateChange(ctx, store.StateChange{Check: "lee-shop/api", At: at("2026-11-21 00:00:00"), From: store.Unknown, To: store.Up})
		outage(tx, "kim-shop/web", "2026-10-31 23:00:00", "2026-11-01 01:00:00")
		n := outage(tx, "kim-shop/web", "2026-11-25 14:02:10", "2026-11-25 17:14:40")
		tx.AddEvent(ctx, store.Event{Incident: n, At: at("2026-11-25 14:06:10"), Kind: "acknowledged", Detail: "@kim"})
		tx.AddEvent(ctx, store.Event{Incident: n, At: at("2026-11-25 15:30:00"), Kind: "acknowledged", Detail: "@ops"})
		outage(tx, "kim-shop/db", "2026-11-22 03:10:00", "2026-11-22 03:40:00")  // inside the window
		outage(tx, "kim-shop/db", "2026-11-22 03:50:00", "2026-11-22 04:20:00")  // 10 of 30 minutes inside
		outage(tx, "lee-shop/web", "2026-12-01 10:00:00", "2026-12-01 11:00:00") // after the period
		outage(tx, "lee-shop/web", "2026-10-31 20:00:00", "2026-11-01 00:00:00") // ended as it began
		outage(tx, "lee-shop/api", "2026-11-22 10:00:00", "2026-11-22 11:00:00")
		return tx.AddWindow(ctx, store.Window{Name: "weekly-db", Start: at("2026-11-22 03:00:00"), End: at("2026-11-22 04:00:00"),
			Targets: []string{"kim-shop/db"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func covers(target, check string) bool {
	return target == check || strings.HasPrefix(check, target+"/")
}

// TestFiguresByHand: the figures of November equal those worked out by
// hand. The month has 30 days, 2,592,000 s.
func TestFiguresByHand(t *testing.T) {
	db := fixture(t)
	p, err := report.ParsePeriod("2026-11", at("2026-12-05 00:00:00"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(context.Background(), db, []string{"kim-shop/web", "kim-shop/db", "lee-shop/web", "lee-shop/api", "lee-shop/new"}, p, at("2026-12-05 00:00:00"), covers)
	if err != nil {
		t.Fatal(err)
	}
	type figures struct {
		uptime, downtime, maintenance, longest, mtta, mttr string
		incidents                                          int
	}
	want := map[string]figures{
		// 1h (of the October outage, from midnight) + 3h12m30s = 15,150 s:
		// 100 × (1 − 15150/2592000) = 99.4155..., cut to 99.415
		"kim-shop/web": {"99.415%", "4h12m30s", "0s", "3h12m30s", "4m0s", "2h36m15s", 2},
		// 30m inside the window (planned: not an incident of the
		// figures), then 10m inside and 20m outside: 1,200 s down,
		// 100 × (1 − 1200/2592000) = 99.9537..., cut to 99.953
		"kim-shop/db":  {"99.953%", "20m0s", "40m0s", "30m0s", "0s", "30m0s", 1},
		"lee-shop/web": {"100.000%", "0s", "0s", "0s", "0s", "0s", 0},
		// Added on November 21: 1h down in 10 days, 864,000 s:
		// 100 × (1 − 3600/864000) = 99.5833...
		"lee-shop/api": {"99.583%", "1h0m0s", "0s", "1h0m0s", "0s", "1h0m0s", 1},
		// Never probed: no figure.
		"lee-shop/new": {"no data", "0s", "0s", "0s", "0s", "0s", 0},
	}
	for _, c := range r.Checks {
		got := figures{report.Uptime(c), report.Exact(c.Downtime), report.Exact(c.Maintenance), report.Exact(c.Longest),
			report.Exact(c.MTTA), report.Exact(c.MTTR), c.Incidents}
		if got != want[c.Check] {
			t.Errorf("%s: %+v\nwant %+v", c.Check, got, want[c.Check])
		}
	}
	if len(r.Incidents) != 5 || len(r.Maintenance) != 1 {
		t.Fatalf("%d incidents and %d windows, want 5 and 1", len(r.Incidents), len(r.Maintenance))
	}
	in := r.Incidents[4] // the one of Nov 25, the last to start
	if in.ID != 2 {
		t.Fatalf("the last incident is #%d, want #2", in.ID)
	}
	if in.Duration != 3*time.Hour+12*time.Minute+30*time.Second || in.AckBy != "@kim" || !in.AckAt.Equal(at("2026-11-25 14:06:10")) {
		t.Errorf("incident: %+v", in)
	}
	if len(in.Errors) != 2 || in.Errors[0].Kind != "status" || in.Errors[0].Count != 2 || in.Errors[0].LastError != "status 503, want 2xx" {
		t.Errorf("errors: %+v", in.Errors)
	}
	seoul, _ := time.LoadLocation("Asia/Seoul")
	tmpl, err := locale.Load("", seoul)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang  locale.Lang
		names locale.Names
		want  []string
	}{
		{locale.English, nil, []string{"kim-shop/web  99.415%", "#2 kim-shop/web: 2026-11-25 23:02:10 to 2026-11-26 02:14:40, 3h12m30s",
			"acknowledged by @kim 2026-11-25 23:06:10", "MAINTENANCE (left out of the downtime)", "(10m0s of it in maintenance)"}},
		{locale.Korean, locale.Names{"kim-shop": "김씨네 가게", "kim-shop/web": "쇼핑몰 메인"}, []string{
			"김씨네 가게 / 쇼핑몰 메인 (kim-shop/web)  99.415%", "#2 김씨네 가게 / 쇼핑몰 메인 (kim-shop/web): 2026-11-25 23:02:10 ~ 2026-11-26 02:14:40, 3시간 12분 30초",
			"@kim 님 확인 2026-11-25 23:06:10", "점검 작업 (장애 시간에서 제외)", "(그중 점검 작업 10분)"}},
	} {
		var text bytes.Buffer
		if err := (report.Words{Templates: tmpl, Lang: tt.lang, Names: tt.names}).Text(&text, r); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(text.String(), w) {
				t.Errorf("%s text lacks %q:\n%s", tt.lang, w, text.String())
			}
		}
	}
}

// TestKoreanCSVOpensInExcel: in Korean the CSV starts with a byte-order
// mark, its header is Korean, and it reads back with encoding/csv.
func TestKoreanCSVOpensInExcel(t *testing.T) {
	r := november(t)
	tmpl, err := locale.Load("", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang   locale.Lang
		bom    bool
		header string
	}{
		{locale.Korean, true, "장애 번호"},
		{locale.English, false, "incident"},
	} {
		var b bytes.Buffer
		if err := (report.Words{Templates: tmpl, Lang: tt.lang}).CSV(&b, r, false); err != nil {
			t.Fatal(err)
		}
		if got := bytes.HasPrefix(b.Bytes(), []byte{0xEF, 0xBB, 0xBF}); got != tt.bom {
			t.Errorf("%s: byte-order mark %v, want %v", tt.lang, got, tt.bom)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte{0xEF, 0xBB, 0xBF}))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 || rows[0][0] != tt.header || len(rows[0]) != len(report.CSVHeader) || rows[4][1] != "kim-shop/web" {
			t.Errorf("%s rows: %q", tt.lang, rows)
		}
	}
}

// november is the fixture's report of November.
func november(t *testing.T) *report.Report {
	t.Helper()
	db := fixture(t)
	now := at("2026-12-05 00:00:00")
	p, _ := report.ParsePeriod("2026-11", now, time.UTC)
	r, err := report.Build(context.Background(), db, []string{"kim-shop/web", "kim-shop/db"}, p, now, covers)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCSVRoundTrip: the CSV has a header and a row per incident, and reads
// back with encoding/csv as a spreadsheet would read it.
func TestCSVRoundTrip(t *testing.T) {
	r := november(t)
	var b bytes.Buffer
	if err := r.CSV(&b, time.UTC, report.CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != strings.Join(report.CSVHeader, ",") {
		t.Fatalf("rows: %q", rows)
	}
	row := rows[4] // by start: the one of Nov 25 is the last
	want := []string{"2", "kim-shop/web", "2026-11-25 14:02:10", "", "2026-11-25 14:06:10", "@kim", "2026-11-25 17:14:40", "recovery", "11550", "11550", "0"}
	for i, w := range want {
		if row[i] != w {
			t.Errorf("column %s = %q, want %q", report.CSVHeader[i], row[i], w)
		}
	}
	if !strings.Contains(row[11], "status x2: status 502, want 2xx; timeout x1: no answer within 10s") {
		t.Errorf("errors column: %q", row[11])
	}
	var js bytes.Buffer
	if err := r.JSON(&js, time.UTC); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Checks []struct {
			Check           string  `json:"check"`
			UptimePercent   float64 `json:"uptime_percent"`
			DowntimeSeconds int64   `json:"downtime_seconds"`
		} `json:"checks"`
		Incidents []map[string]any `json:"incidents"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if c := decoded.Checks[0]; c.UptimePercent != 99.415 || c.DowntimeSeconds != 15150 || len(decoded.Incidents) != 4 {
		t.Errorf("json: %+v", decoded)
	}
}

func TestParsePeriod(t *testing.T) {
	now := at("2026-11-25 14:02:10")
	tests := []struct {
		in       string
		from, to time.Time
	}{
		{"", now.Add(-30 * 24 * time.Hour), now},
		{"7d", now.Add(-7 * 24 * time.Hour), now},
		{"12h", now.Add(-12 * time.Hour), now},
		{"2026-02", at("2026-02-01 00:00:00"), at("2026-03-01 00:00:00")},
	}
	for _, tt := range tests {
		p, err := report.ParsePeriod(tt.in, now, time.UTC)
		if err != nil || !p.From.Equal(tt.from) || !p.To.Equal(tt.to) {
			t.Errorf("%q: %+v, %v", tt.in, p, err)
		}
	}
	for _, bad := range []string{"30", "d", "-1d", "0d", "2026-13", "forever", "99999d", "1.5d"} {
		if p, err := report.ParsePeriod(bad, now, time.UTC); err == nil {
			t.Errorf("%q accepted as %+v", bad, p)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"30d", "24h", "2026-11", "", "-5d", "2026-1"} {
		f.Add(s)
	}
	now := at("2026-11-25 14:02:10")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := report.ParsePeriod(s, now, time.UTC)
		if err == nil && !p.From.Before(p.To) {
			t.Fatalf("%q: empty period %+v", s, p)
		}
	})
}

func TestCSVCellsAreNoFormulas(t *testing.T) {
	r := &report.Report{Incidents: []report.Incident{{ID: 1, Check: "kim-shop/web", AckBy: "=HYPERLINK(\"http://x\")",
		ResolvedBy: "@kim", Errors: []store.ErrorSummary{{Kind: "status", Count: 1, FirstError: "+1 status"}}}}}
	var b bytes.Buffer
	r.CSV(&b, time.UTC, report.CSVOptions{})
	rows, _ := csv.NewReader(&b).ReadAll()
	if got := rows[1][5]; got != `'=HYPERLINK("http://x")` {
		t.Errorf("acknowledged_by %q", got)
	}
	if got := rows[1][7]; got != "@kim" {
		t.Errorf("a username was changed: %q", got)
	}
}

// edges is a Source with one check's first probe and incidents.
type edges struct {
	first     time.Time // zero: never probed
	incidents []store.Incident
}

func (e edges) Incidents(context.Context, store.IncidentFilter) ([]store.Incident, error) {
	return e.incidents, nil
}

func (edges) Windows(context.Context, time.Time, time.Time) ([]store.Window, error) { return nil, nil }

func (e edges) FirstSeen(context.Context) (map[string]time.Time, error) {
	if e.first.IsZero() {
		return map[string]time.Time{}, nil
	}
	return map[string]time.Time{"shop/web": e.first}, nil
}

// TestPeriodEdges: a check is measured from its first probe, to the
// second, when it came during the period; from the period's start when it
// came before; and has no figures when it came at the end or never.
func TestPeriodEdges(t *testing.T) {
	now := at("2026-11-25 15:00:00")
	p, err := report.ParsePeriod("1d", now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	down := func(from string) []store.Incident {
		return []store.Incident{{ID: 1, Check: "shop/web", Start: at(from)}}
	}
	tests := []struct {
		name   string
		src    edges
		since  time.Time // zero: no figures
		uptime string
	}{
		{"down since a first probe mid-hour", edges{at("2026-11-25 14:02:10"), down("2026-11-25 14:02:10")}, at("2026-11-25 14:02:10"), "0.000%"},
		{"down since a first probe at 14:59:59", edges{at("2026-11-25 14:59:59"), down("2026-11-25 14:59:59")}, at("2026-11-25 14:59:59"), "0.000%"},
		{"up a minute, then down 30 s", edges{at("2026-11-25 14:59:00"), down("2026-11-25 14:59:30")}, at("2026-11-25 14:59:00"), "50.000%"},
		{"an incident before the first probe known", edges{at("2026-11-25 14:30:00"), down("2026-11-25 14:00:00")}, at("2026-11-25 14:00:00"), "0.000%"},
		{"probed before the period", edges{at("2026-11-01 00:00:00"), down("2026-11-25 14:48:00")}, p.From, "99.166%"},
		{"first probed as the period ends", edges{first: now}, time.Time{}, "no data"},
		{"never probed", edges{}, time.Time{}, "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := report.Build(context.Background(), tt.src, []string{"shop/web"}, p, now, covers)
			if err != nil {
				t.Fatal(err)
			}
			c := r.Checks[0]
			if !c.Since.Equal(tt.since) || report.Uptime(c) != tt.uptime {
				t.Errorf("since %v, %s; want since %v, %s", c.Since, report.Uptime(c), tt.since, tt.uptime)
			}
		})
	}
}

// TestAlertsOfSources: a source's alert is listed among the incidents by
// its title and source, with no uptime line of its own, also for a
// merchant with no check of its own.
func TestAlertsOfSources(t *testing.T) {
	ctx := context.Background()
	db := fixture(t)
	key := "ops-team/prom/9f2c4e1a"
	if err := db.Register(ctx, []string{key}); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetOrigin(ctx, key, store.Origin{Source: "prom", Title: "prom/NodeDown"}); err != nil {
			return err
		}
		n, _, err := tx.OpenIncident(ctx, key, at("2026-11-10 03:00:00"), at("2026-11-10 03:00:00"))
		if err != nil {
			return err
		}
		return tx.ResolveIncident(ctx, n, at("2026-11-10 03:30:00"), "recovery")
	})
	if err != nil {
		t.Fatal(err)
	}
	rp := report.Reporter{Source: db, Checks: []string{"kim-shop/web"}, Merchants: []string{"kim-shop", "ops-team"},
		Covers: func(string, string) bool { return false }, Location: time.UTC, Now: func() time.Time { return at("2026-12-02 00:00:00") }}
	for _, merchants := range [][]string{nil, {"ops-team"}} {
		r, err := rp.Report(ctx, merchants, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		var found *report.Incident
		for i, in := range r.Incidents {
			if in.Check == key {
				found = &r.Incidents[i]
			}
		}
		if found == nil || found.Title != "prom/NodeDown" || found.Source != "prom" || found.Duration != 30*time.Minute {
			t.Errorf("merchants %v: the alert's incident = %+v", merchants, found)
		}
		for _, c := range r.Checks {
			if c.Check == key {
				t.Errorf("merchants %v: an uptime line for the alert", merchants)
			}
		}
	}
}
