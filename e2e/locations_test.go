package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store/sqlite"
	"github.com/hostwatch/hostwatch/web"
)

// page answers "cart", or 502 while failing; it counts the probes of
// each location, which the agents name in their User-Agent.
type page struct {
	failing atomic.Bool
	jeju    atomic.Int64
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.UserAgent(), "(jeju)") {
		p.jeju.Add(1)
	}
	if p.failing.Load() {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	w.Write([]byte("cart"))
}

// serve serves h at addr, on the LAN's bridge, until the test ends, and
// gives its URL.
func serve(t *testing.T, l *lan, addr string, h http.Handler) string {
	ln := l.listen(addr)
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// daemon runs `hostwatch run` in h with the configuration body, which
// keeps its SQLite file at db; env adds to its environment.
func daemon(t *testing.T, h *host, body string, env ...string) *proc {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "hostwatch.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := h.command(binary, "run", "-config", cfg)
	cmd.Env = append(os.Environ(), env...)
	return start(t, "daemon", cmd)
}

// metric is the value of a series on the daemon's /metrics, 0 while it
// has none.
func metric(api, series string) float64 {
	for _, line := range strings.Split(get(api+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// allUp says whether /api/v1/locations lists n locations, all up.
func allUp(api string, n int) bool {
	var ls []web.LocationJSON
	if json.Unmarshal([]byte(get(api+"/api/v1/locations")), &ls) != nil || len(ls) != n {
		return false
	}
	for _, l := range ls {
		if !l.Up {
			return false
		}
	}
	return true
}

// ownerLines are the console lines telling an owner of an outage or a
// recovery.
func ownerLines(p *proc) []string {
	var out []string
	for _, l := range p.lines() {
		if strings.HasPrefix(l, "DOWN ") || strings.HasPrefix(l, "UP ") {
			out = append(out, l)
		}
	}
	return out
}

// TestCanariesWhenCut: a daemon alone in its namespace, with a canary.
// Its link is cut: every canary fails, and with them the shop; the admins
// are told once, no owner is, however long it lasts. Restored: the admins
// are told, and nothing more is said.
func TestCanariesWhenCut(t *testing.T) {
	t.Parallel()
	lan := newLAN(t)
	srv := lan.host("srv")
	canary, shop := serve(t, lan, lan.gateway(), &page{}), serve(t, lan, lan.gateway(), &page{})
	db := filepath.Join(t.TempDir(), "hostwatch.db")
	api := "http://" + srv.ip + ":8080"
	d := daemon(t, srv, `
timezone: UTC
storage: {driver: sqlite, dsn: "`+db+`"}
http: {listen: "`+srv.ip+`:8080"}
canaries: ["`+canary+`"]
defaults: {schedule: "@every 1s", down_after: 2, up_after: 1, timeout: 800ms, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+shop+`", contains: cart}}
`)
	const ok, failed = `hostwatch_probes_total{check="kim-shop/storefront",result="ok"}`,
		`hostwatch_probes_total{check="kim-shop/storefront",result="fail"}`
	waitFor(t, "the shop probed", func() bool { return metric(api, ok) >= 2 })
	// The daemon writes its failures as it goes: read them where it
	// cannot be asked while cut off.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	cut := time.Now()
	srv.cut(t)
	d.waitLine(t, "CUT OFF local looks cut off: every canary fails from there")
	waitFor(t, "the shop failing down_after times and more while cut off", func() bool {
		fs, err := st.Failures(context.Background(), "kim-shop/storefront", cut, time.Now())
		return err == nil && len(fs) >= 4
	})
	if l := ownerLines(d); len(l) > 0 {
		t.Errorf("an owner was told while this place was cut off: %q", l)
	}

	srv.restore(t)
	d.waitLine(t, "REACHABLE local reaches the shops again: ")
	// Some seconds of the shop up again, in which nothing may follow.
	waitFor(t, "the shop probed again", func() bool { return allUp(api, 1) })
	oks := metric(api, ok)
	waitFor(t, "five probes of the shop up again", func() bool { return metric(api, ok) >= oks+5 })
	t.Logf("cut off for %s; %v failures", time.Since(cut).Round(time.Millisecond), metric(api, failed))
	d.stop(t)
	if l := ownerLines(d); len(l) > 0 {
		t.Errorf("an owner was told of a cut of this place's own link: %q", l)
	}
	if n, m := d.count("CUT OFF "), d.count("REACHABLE "); n != 1 || m != 1 {
		t.Errorf("%d notices of a cut and %d of its end, want one each:\n%s", n, m, strings.Join(d.lines(), "\n"))
	}
}
