package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestClaim runs hostwatch claim on a record the test wrote, November
// 2025 in Seoul (30 days, 2,592,000 s):
//
//   - web down Oct 31 23:50 – Nov 1 00:20: 1,200 s of it in November;
//   - db down Nov 9 03:00–03:30, in the window recorded for
//     provider:cloudhost 03:00–04:00: left out;
//   - web down Nov 15 10:00–11:00 and db 10:30–11:30: 5,400 s together.
//
// down = 1,200 + 5,400 = 6,600 s;
// uptime = floor(100000 × (2,592,000 − 6,600) / 2,592,000) / 1000
//
//	= floor(99,745.37…) / 1000 = 99.745 %: below 99.9, the 10 % tier;
//
// credit = floor(55,000 × 10 / 100) = 5,500 KRW.
func TestClaim(t *testing.T) {
	dir, cfg := claimFixture(t)
	claim := []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "kim-shop", "-month", "2025-11"}
	stdout, stderr, code := hostwatch(t, claim...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"| Measured | 99.745% (1h50m0s down in 720h0m0s; 30m0s in maintenance left out) |\n",
		"| Tier missed | below 99.9%: 10% of the monthly fee |\n",
		"| Credit owed | **5,500 KRW (10% of 55,000 KRW)** |\n",
		"| 2 | 2025-11-15 10:00:00 | 2025-11-15 11:30:00 | 1h30m0s | kim-shop/web, kim-shop/db |\n",
		"- host-upgrade: 2025-11-09 03:00:00 to 2025-11-09 04:00:00 (provider:cloudhost)\n",
		"| kim-shop/db | `@every 1m` | 5s |\n",
		"The probes ran from Seoul,",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}

	// The claim carries the chain's head, as verify reports it.
	verified, _, code := hostwatch(t, "verify", "-config", cfg)
	head := regexp.MustCompile(`head ([0-9a-f]{64})`).FindStringSubmatch(verified)
	if code != 0 || head == nil || !strings.Contains(stdout, "hash chain whose head was "+head[1]) {
		t.Errorf("verify: exit %d, %q; the claim does not carry its head:\n%s", code, verified, stdout)
	}

	out := filepath.Join(dir, "claim.json")
	if stdout, stderr, code := hostwatch(t, append(claim, "-format", "json", "-o", out)...); code != 0 || stdout != "" {
		t.Fatalf("json: exit %d, %q, %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Uptime   float64 `json:"uptime_percent"`
		Down     int64   `json:"downtime_seconds"`
		Credit   int64   `json:"credit"`
		Currency string  `json:"currency"`
		Tier     struct {
			Percent int `json:"percent"`
		} `json:"tier"`
	}
	if err := json.Unmarshal(data, &got); err != nil || got.Uptime != 99.745 || got.Down != 6600 || got.Credit != 5500 || got.Currency != "KRW" || got.Tier.Percent != 10 {
		t.Errorf("json %+v, %v:\n%s", got, err, data)
	}

	stdout, _, code = hostwatch(t, append(claim, "-format", "html", "-lang", "ko")...)
	if code != 0 || !strings.HasPrefix(stdout, "<!DOCTYPE html>") || !strings.Contains(stdout, `<td class="credit">5,500 KRW (55,000 KRW의 10%)</td>`) {
		t.Errorf("html: exit %d\n%s", code, stdout)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no month", []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "kim-shop"}, 2, "-provider, -merchant and -month are required"},
		{"unknown provider", []string{"claim", "-config", cfg, "-provider", "nimbus", "-merchant", "kim-shop", "-month", "2025-11"}, 2, `no provider is named "nimbus"`},
		{"unknown merchant", []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "park-shop", "-month", "2025-11"}, 2, `no merchant is named "park-shop"`},
		{"no sla", []string{"claim", "-config", cfg, "-provider", "other", "-merchant", "lee-shop", "-month", "2025-11"}, 1, "provider other has no sla"},
		{"no check there", []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "lee-shop", "-month", "2025-11"}, 1, "lee-shop has no check under the sla of cloudhost"},
		{"bad month", []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "kim-shop", "-month", "2025-13"}, 2, `-month "2025-13": a month is written 2026-11`},
		{"future month", []string{"claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "kim-shop", "-month", "2999-01"}, 2, `"2999-01" has not begun`},
		{"bad format", append(claim, "-format", "pdf"), 2, "-format must be md, json or html"},
	} {
		_, stderr, code := hostwatch(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, %q; want %d, %q", tt.name, code, stderr, tt.code, tt.want)
		}
	}
}

// claimFixture writes the config and the record TestClaim describes under
// a new temp dir and returns the dir and the config's path.
func claimFixture(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	db := filepath.Join(dir, "hostwatch.db")
	cfg = writeConfig(t, dir, fmt.Sprintf(`timezone: Asia/Seoul
storage: {dsn: %q}
cluster: {instance: probe-1, location: Seoul}
merchants:
  - name: kim-shop
    checks:
      - {name: web, http: {url: "https://kim.example/"}, labels: {host: cloudhost}}
      - {name: db, tcp: {address: "db.kim.example:5432"}, labels: {host: cloudhost}, schedule: "@every 1m", timeout: 5s}
  - name: lee-shop
    checks:
      - {name: web, http: {url: "https://lee.example/"}, labels: {host: other}}
providers:
  - name: cloudhost
    match: {host: cloudhost}
    outage_when: {min_down: 2}
    sla:
      monthly_uptime: 99.9
      credits: [{below: 99.9, percent: 10}, {below: 99.0, percent: 25}, {below: 95.0, percent: 100}]
      monthly_fee: 55000
      currency: KRW
  - name: other
    match: {host: other}
    outage_when: {min_down: 1}
`, db))
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	at := func(month time.Month, day, h, m int) time.Time { return time.Date(2025, month, day, h, m, 0, 0, seoul) }
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Register(ctx, []string{"kim-shop/web", "kim-shop/db", "lee-shop/web"}); err != nil {
		t.Fatal(err)
	}
	outage := func(check string, start, end time.Time, msg string) {
		t.Helper()
		err := st.Update(ctx, func(tx store.Tx) error {
			id, _, err := tx.OpenIncident(ctx, check, start, start)
			if err != nil {
				return err
			}
			if err := tx.AddFailures(ctx, []store.Failure{{Check: check, At: start, Kind: "status", Error: msg, Incident: id}}); err != nil {
				return err
			}
			return tx.ResolveIncident(ctx, id, end, "recovery")
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	outage("kim-shop/web", at(10, 31, 23, 50), at(11, 1, 0, 20), "status 502, want 2xx")
	outage("kim-shop/db", at(11, 9, 3, 0), at(11, 9, 3, 30), "in maintenance")
	outage("kim-shop/web", at(11, 15, 10, 0), at(11, 15, 11, 0), "status 503, want 2xx")
	outage("kim-shop/db", at(11, 15, 10, 30), at(11, 15, 11, 30), "connection refused")
	err = st.Update(ctx, func(tx store.Tx) error {
		return tx.AddWindow(ctx, store.Window{Name: "host-upgrade", Start: at(11, 9, 3, 0), End: at(11, 9, 4, 0), Targets: []string{"provider:cloudhost"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	return dir, cfg
}
