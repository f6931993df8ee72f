package claim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

func seoul(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// fixture writes November 2026 of kim-shop into a SQLite store, through
// the store's API as the daemon writes it:
//
//   - web down from Oct 31 23:30 to Nov 1 00:30 KST: it crosses the
//     month's start, so 30m (1,800 s) of it is November's;
//   - db down Nov 8 03:10–03:40, inside the maintenance window weekly-db
//     (03:00–04:00, kim-shop/db): left out;
//   - web down Nov 12 14:00–14:45 (2,700 s) and db 14:30–15:10 (2,400 s):
//     together 14:00–15:10 (4,200 s), both at once 14:30–14:45 (900 s).
func fixture(t *testing.T, loc *time.Location) store.Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir()+"/hostwatch.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Register(ctx, []string{"kim-shop/web", "kim-shop/db", "lee-shop/web"}); err != nil {
		t.Fatal(err)
	}
	at := func(month time.Month, day, h, m int) time.Time { return time.Date(2026, month, day, h, m, 0, 0, loc) }
	fail := func(check string, t time.Time, kind, msg string) store.Failure {
		return store.Failure{Check: check, At: t, Kind: kind, Error: msg, Latency: time.Second}
	}
	outage := func(check string, start, end time.Time, fs ...store.Failure) {
		t.Helper()
		err := db.Update(ctx, func(tx store.Tx) error {
			id, _, err := tx.OpenIncident(ctx, check, start, start)
			if err != nil {
				return err
			}
			for i := range fs {
				fs[i].Incident = id
			}
			if err := tx.AddFailures(ctx, fs); err != nil {
				return err
			}
			return tx.ResolveIncident(ctx, id, end, "recovery")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	outage("kim-shop/web", at(10, 31, 23, 30), at(11, 1, 0, 30),
		fail("kim-shop/web", at(10, 31, 23, 30), "timeout", "no answer within 10s (October)"),
		fail("kim-shop/web", at(11, 1, 0, 10), "timeout", "no answer within 10s"),
		fail("kim-shop/web", at(11, 1, 0, 20), "timeout", "no answer within 10s, again"))
	outage("kim-shop/db", at(11, 8, 3, 10), at(11, 8, 3, 40),
		fail("kim-shop/db", at(11, 8, 3, 10), "refused", "connection refused (maintenance)"))
	outage("kim-shop/web", at(11, 12, 14, 0), at(11, 12, 14, 45),
		fail("kim-shop/web", at(11, 12, 14, 0), "status", "status 502, want 2xx"),
		fail("kim-shop/web", at(11, 12, 14, 40), "status", "status 503, want 2xx"))
	outage("kim-shop/db", at(11, 12, 14, 30), at(11, 12, 15, 10),
		fail("kim-shop/db", at(11, 12, 14, 30), "refused", "connection refused"),
		fail("kim-shop/db", at(11, 12, 15, 0), "refused", "connection refused"))
	// Another merchant's outage on the same provider is not kim-shop's.
	outage("lee-shop/web", at(11, 20, 9, 0), at(11, 20, 21, 0))
	err = db.Update(ctx, func(tx store.Tx) error {
		return tx.AddWindow(ctx, store.Window{Name: "weekly-db", Start: at(11, 8, 3, 0), End: at(11, 8, 4, 0), Targets: []string{"kim-shop/db"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// covers is the maintenance rule: a target covers its own check and
// every check of its merchant.
func covers(target, check string) bool {
	return target == check || strings.HasPrefix(check, target+"/")
}

func sla(measure string, exclude bool) claim.SLA {
	return claim.SLA{MonthlyUptime: 99.9, Credits: []claim.Tier{{Below: 99.9, Percent: 10}, {Below: 99.0, Percent: 25}, {Below: 95.0, Percent: 100}},
		MonthlyFee: 55000, Currency: "KRW", Measure: measure, ExcludeMaintenance: exclude, Covers: covers, Where: "seoul-1",
		Checks: []claim.Check{{ID: "kim-shop/web", Schedule: "@every 30s", Timeout: 10 * time.Second}, {ID: "kim-shop/db", Schedule: "@every 1m", Timeout: 5 * time.Second}}}
}

var november = claim.Request{Provider: "cloudhost", Merchant: "kim-shop", Month: "2026-11"}

// TestTheFixtureMonth: the claim over the fixture equals the figures
// worked out by hand, exactly.
func TestTheFixtureMonth(t *testing.T) {
	loc := seoul(t)
	db := fixture(t, loc)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, loc)
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }

	// November has 30 days: 30 × 86,400 = 2,592,000 s measured.
	const month = 2592000 * time.Second
	tests := []struct {
		name     string
		measure  string
		exclude  bool
		down     time.Duration
		maint    time.Duration
		uptime   float64
		percent  int // 0: no tier missed
		credit   int64
		outages  [][2]time.Time
		checksOf [][]string
	}{
		{
			// any: down while web or db is. 1,800 s from the month's start
			// (00:00–00:30) + 4,200 s of the overlap counted once
			// (14:00–15:10) = 6,000 s; db's 03:10–03:40 (1,800 s) is
			// maintenance.
			// uptime = floor(100000 × (2,592,000 − 6,000) / 2,592,000) / 1000
			//        = floor(99,768.518…) / 1000 = 99.768 %
			// below 99.9, not below 99.0: tier 10 %;
			// credit = floor(55,000 × 10 / 100) = 5,500 KRW.
			name: "any", measure: claim.Any, exclude: true,
			down: 6000 * time.Second, maint: 1800 * time.Second, uptime: 99.768, percent: 10, credit: 5500,
			outages:  [][2]time.Time{{at(1, 0, 0), at(1, 0, 30)}, {at(12, 14, 0), at(12, 15, 10)}},
			checksOf: [][]string{{"kim-shop/web"}, {"kim-shop/web", "kim-shop/db"}},
		},
		{
			// all: down only while both are: 14:30–14:45 = 900 s. In the
			// maintenance window web was up: nothing left out.
			// uptime = floor(100000 × (2,592,000 − 900) / 2,592,000) / 1000
			//        = floor(99,965.277…) / 1000 = 99.965 %: promise kept, 0 KRW.
			name: "all", measure: claim.All, exclude: true,
			down: 900 * time.Second, maint: 0, uptime: 99.965, percent: 0, credit: 0,
			outages:  [][2]time.Time{{at(12, 14, 30), at(12, 14, 45)}},
			checksOf: [][]string{{"kim-shop/web", "kim-shop/db"}},
		},
		{
			// any, maintenance counted: 6,000 + 1,800 = 7,800 s.
			// uptime = floor(100000 × (2,592,000 − 7,800) / 2,592,000) / 1000
			//        = floor(99,699.074…) / 1000 = 99.699 %; 10 %: 5,500 KRW.
			name: "maintenance counted", measure: claim.Any, exclude: false,
			down: 7800 * time.Second, maint: 0, uptime: 99.699, percent: 10, credit: 5500,
			outages:  [][2]time.Time{{at(1, 0, 0), at(1, 0, 30)}, {at(8, 3, 10), at(8, 3, 40)}, {at(12, 14, 0), at(12, 15, 10)}},
			checksOf: [][]string{{"kim-shop/web"}, {"kim-shop/db"}, {"kim-shop/web", "kim-shop/db"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claim.Compute(context.Background(), db, november, sla(tt.measure, tt.exclude), loc, now)
			if err != nil {
				t.Fatal(err)
			}
			if !c.From.Equal(at(1, 0, 0)) || !c.Until.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, loc)) || c.Partial || c.Measured != month {
				t.Errorf("measured %v from %v until %v (partial %v)", c.Measured, c.From, c.Until, c.Partial)
			}
			if c.Downtime != tt.down || c.Maintenance != tt.maint || c.Uptime != tt.uptime || c.Credit != tt.credit {
				t.Errorf("down %v, maintenance %v, uptime %v, credit %d; want %v, %v, %v, %d",
					c.Downtime, c.Maintenance, c.Uptime, c.Credit, tt.down, tt.maint, tt.uptime, tt.credit)
			}
			switch {
			case tt.percent == 0 && c.Missed != nil:
				t.Errorf("missed %+v, want none", *c.Missed)
			case tt.percent != 0 && (c.Missed == nil || c.Missed.Percent != tt.percent):
				t.Errorf("missed %+v, want the %d%% tier", c.Missed, tt.percent)
			}
			if len(c.Outages) != len(tt.outages) {
				t.Fatalf("outages %+v", c.Outages)
			}
			for i, o := range c.Outages {
				if !o.Start.Equal(tt.outages[i][0]) || !o.End.Equal(tt.outages[i][1]) || o.Duration != o.End.Sub(o.Start) ||
					strings.Join(o.Checks, ",") != strings.Join(tt.checksOf[i], ",") || o.Continues {
					t.Errorf("outage %d: %+v, want %v of %v", i, o, tt.outages[i], tt.checksOf[i])
				}
			}
		})
	}
}

// TestTheEvidence: each outage carries the errors its checks' probes saw
// within it, and nothing from before the month or from maintenance.
func TestTheEvidence(t *testing.T) {
	loc := seoul(t)
	db := fixture(t, loc)
	c, err := claim.Compute(context.Background(), db, november, sla(claim.Any, true), loc, time.Date(2026, 12, 3, 9, 0, 0, 0, loc))
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	want := [][]claim.Errors{
		{{Check: "kim-shop/web", Kind: "timeout", Count: 2, First: at(1, 0, 10), FirstError: "no answer within 10s", Last: at(1, 0, 20), LastError: "no answer within 10s, again"}},
		{
			{Check: "kim-shop/web", Kind: "status", Count: 2, First: at(12, 14, 0), FirstError: "status 502, want 2xx", Last: at(12, 14, 40), LastError: "status 503, want 2xx"},
			{Check: "kim-shop/db", Kind: "refused", Count: 2, First: at(12, 14, 30), FirstError: "connection refused", Last: at(12, 15, 0), LastError: "connection refused"},
		},
	}
	for i, o := range c.Outages {
		if len(o.Errors) != len(want[i]) {
			t.Errorf("outage %d errors %+v", i, o.Errors)
			continue
		}
		for j, e := range o.Errors {
			w := want[i][j]
			if e.Check != w.Check || e.Kind != w.Kind || e.Count != w.Count || !e.First.Equal(w.First) || !e.Last.Equal(w.Last) ||
				e.FirstError != w.FirstError || e.LastError != w.LastError {
				t.Errorf("outage %d error %d: %+v, want %+v", i, j, e, w)
			}
		}
	}
	if len(c.Windows) != 1 || c.Windows[0].Name != "weekly-db" || c.Where != "seoul-1" || len(c.Checks) != 2 || c.Checks[1].Schedule != "@every 1m" {
		t.Errorf("windows %+v, where %q, checks %+v", c.Windows, c.Where, c.Checks)
	}
}

// TestAMonthNotOver is measured up to now, and says so; an outage still
// open runs to now.
func TestAMonthNotOver(t *testing.T) {
	loc := seoul(t)
	db := fixture(t, loc)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	err := db.Update(ctx, func(tx store.Tx) error {
		_, _, err := tx.OpenIncident(ctx, "kim-shop/web", start.Add(time.Hour), start.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	now := start.Add(10 * time.Hour)
	c, err := claim.Compute(ctx, db, claim.Request{Provider: "cloudhost", Merchant: "kim-shop", Month: "2026-12"}, sla(claim.Any, true), loc, now)
	if err != nil {
		t.Fatal(err)
	}
	// 9 h down of 10 h measured: 10 %, below 95: the 100 % tier.
	if !c.Partial || !c.Until.Equal(now) || c.Measured != 10*time.Hour || c.Downtime != 9*time.Hour || c.Uptime != 10 ||
		c.Missed == nil || c.Missed.Percent != 100 || c.Credit != 55000 || len(c.Outages) != 1 || !c.Outages[0].Continues {
		t.Errorf("claim %+v", c)
	}
	for _, month := range []string{"2027-01", "2026-13", "11-2026", ""} {
		if _, err := claim.Compute(ctx, db, claim.Request{Month: month}, sla(claim.Any, true), loc, now); err == nil {
			t.Errorf("month %q: no error", month)
		}
	}
}

// TestTiers: the lowest tier whose below is above the uptime counts; an
// uptime equal to a below is not below it.
func TestTiers(t *testing.T) {
	tiers := []claim.Tier{{Below: 99.9, Percent: 10}, {Below: 99.0, Percent: 25}, {Below: 95.0, Percent: 100}}
	const month = 2592000 * time.Second // 30 days
	tests := []struct {
		name    string
		down    time.Duration
		uptime  float64
		percent int
	}{
		{"none down", 0, 100, 0},
		{"one second is 99.999", time.Second, 99.999, 0},
		// 0.1 % of 2,592,000 s is 2,592 s: exactly 99.900, not below 99.9.
		{"exactly 99.9", 2592 * time.Second, 99.9, 0},
		{"a second more", 2593 * time.Second, 99.899, 10},
		// 99.41 % up: 0.59 % of 2,592,000 s = 15,292.8 s down.
		{"99.41", 15292800 * time.Millisecond, 99.41, 10},
		// exactly 99.0: 1 % = 25,920 s; still the 10 % tier.
		{"exactly 99.0", 25920 * time.Second, 99, 10},
		{"98.7", 33696 * time.Second, 98.7, 25},
		{"exactly 95", 129600 * time.Second, 95, 25},
		{"under 95", 129601 * time.Second, 94.999, 100},
		{"all month", month, 0, 100},
	}
	for _, tt := range tests {
		uptime, missed := claim.Measure(tt.down, month, tiers)
		got := 0
		if missed != nil {
			got = missed.Percent
		}
		if uptime != tt.uptime || got != tt.percent {
			t.Errorf("%s: uptime %v, tier %d%%; want %v, %d%%", tt.name, uptime, got, tt.uptime, tt.percent)
		}
	}
}
