package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// certChecker is a TLS probe's answer: up, with a certificate's expiry.
type certChecker struct{ expires time.Time }

func (c certChecker) Check(context.Context) checks.Result {
	return checks.Result{OK: true, Latency: time.Millisecond, Expires: c.expires}
}

// TestPerCheckMetrics: hostwatch_check_up is 1 or 0 by the thresholds and
// absent while unknown; a TLS check's certificate expiry is served;
// Aggregate leaves out every series labelled by check.
func TestPerCheckMetrics(t *testing.T) {
	expires := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	check := func(id string) *config.Check {
		return &config.Check{ID: id, Schedule: "@every 5s", Cron: mustCron(t, "@every 5s"),
			Timeout: config.Duration{Duration: time.Second}, DownAfter: 1, UpAfter: 1, TCP: &config.TCPCheck{}}
	}
	cs := []*config.Check{check("shop/up"), check("shop/down"), check("shop/new"), check("shop/cert")}
	down := &fakeChecker{}
	up := &fakeChecker{}
	up.ok.Store(true)
	build := map[string]checks.Checker{"shop/up": up, "shop/down": down, "shop/new": up, "shop/cert": certChecker{expires}}
	for _, aggregate := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		m, err := New(Options{Checks: cs, Sink: &recorder{}, Clock: clockwork.NewFakeClockAt(t0), Registry: reg, Aggregate: aggregate,
			Build: func(c *config.Check) (checks.Checker, error) { return build[c.ID], nil }})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range m.watched {
			if w.cfg.ID != "shop/new" {
				m.probe(context.Background(), w, t0)
			}
		}
		want := `
# HELP hostwatch_check_up Whether the check is up (1) or down (0) by its thresholds; absent while unknown. Like blackbox_exporter's probe_success.
# TYPE hostwatch_check_up gauge
hostwatch_check_up{check="shop/cert"} 1
hostwatch_check_up{check="shop/down"} 0
hostwatch_check_up{check="shop/up"} 1
# HELP hostwatch_certificate_expiry_timestamp_seconds When the certificate a TLS check was last shown expires, in Unix seconds. Like blackbox_exporter's probe_ssl_earliest_cert_expiry.
# TYPE hostwatch_certificate_expiry_timestamp_seconds gauge
hostwatch_certificate_expiry_timestamp_seconds{check="shop/cert"} 1.8039024e+09
`
		if aggregate {
			want = ""
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "hostwatch_check_up", "hostwatch_certificate_expiry_timestamp_seconds"); err != nil {
			t.Errorf("aggregate %v: %v", aggregate, err)
		}
		probes := `
# HELP hostwatch_probes_total Probes run, by check (unless http.metrics.per_check is off) and result (ok or fail).
# TYPE hostwatch_probes_total counter
hostwatch_probes_total{check="shop/cert",result="ok"} 1
hostwatch_probes_total{check="shop/cert",result="fail"} 0
hostwatch_probes_total{check="shop/down",result="fail"} 1
hostwatch_probes_total{check="shop/down",result="ok"} 0
hostwatch_probes_total{check="shop/new",result="fail"} 0
hostwatch_probes_total{check="shop/new",result="ok"} 0
hostwatch_probes_total{check="shop/up",result="fail"} 0
hostwatch_probes_total{check="shop/up",result="ok"} 1
`
		if aggregate {
			probes = `
# HELP hostwatch_probes_total Probes run, by check (unless http.metrics.per_check is off) and result (ok or fail).
# TYPE hostwatch_probes_total counter
hostwatch_probes_total{result="fail"} 1
hostwatch_probes_total{result="ok"} 2
`
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(probes), "hostwatch_probes_total"); err != nil {
			t.Errorf("aggregate %v: %v", aggregate, err)
		}
	}
}
