package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestAgentBackFromCutOff: jeju probes two shops of two providers, all
// up. Cut off for longer than isolation.silence, then back: the admins
// are told once of each, and jeju's results count again. What it probed
// before it was found cut off, sent once back, failing across both
// providers, must not keep it cut off.
func TestAgentBackFromCutOff(t *testing.T) {
	t.Parallel()
	lan := newLAN(t)
	p := startPlaces(t, lan, `
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+serve(t, lan, lan.gateway(), &page{})+`", contains: cart}}
  - name: lee-shop
    checks:
      - {name: storefront, http: {url: "`+serve(t, lan, lan.other(), &page{})+`", contains: cart}}
`)
	const jejuOK, localOK = `hostwatch_location_results_total{location="jeju",result="ok"}`,
		`hostwatch_probes_total{check="kim-shop/storefront",result="ok"}`
	waitFor(t, "results from jeju", func() bool { return metric(p.api, jejuOK) >= 4 })

	p.hosts["jeju"].cut(t)
	p.daemon.waitLine(t, "CUT OFF jeju looks cut off: ")
	oks := metric(p.api, localOK)
	waitFor(t, "three seconds more of jeju cut off", func() bool { return metric(p.api, localOK) >= oks+3 })
	p.hosts["jeju"].restore(t)
	p.daemon.waitLine(t, "REACHABLE jeju reaches the shops again: ")
	oks = metric(p.api, jejuOK)
	waitFor(t, "jeju's results once back", func() bool { return metric(p.api, jejuOK) >= oks+6 })
	p.daemon.stop(t)
	if n, m := p.daemon.count("CUT OFF "), p.daemon.count("REACHABLE "); n != 1 || m != 1 {
		t.Errorf("%d notices of a location cut off and %d of one back, want one each:\n%s", n, m,
			strings.Join(p.daemon.lines(), "\n"))
	}
	if l := ownerLines(p.daemon); len(l) > 0 {
		t.Errorf("an owner was told: %q", l)
	}
}

// TestAgentCutOff: a daemon and agents in busan and jeju, each in its own
// namespace, probe a shop; two locations confirm an outage. Jeju's link is
// cut: the admins are told once, no owner is. The shop then fails for
// real: the owner is told, from 2 of 3. Jeju comes back: the admins are
// told once, and what jeju probed while cut off arrives and is recorded
// with the times it was probed at, one a second, none lost.
func TestAgentCutOff(t *testing.T) {
	t.Parallel()
	lan := newLAN(t)
	shop := &page{}
	p := startPlaces(t, lan, `
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "`+serve(t, lan, lan.gateway(), shop)+`", contains: cart}}
`)
	d, api, db, agents, running := p.daemon, p.api, p.db, p.hosts, p.agents
	waitFor(t, "probes from jeju", func() bool { return shop.jeju.Load() >= 2 })

	cut := time.Now()
	agents["jeju"].cut(t)
	d.waitLine(t, "CUT OFF jeju looks cut off: ")
	noticed := time.Now()
	if l := ownerLines(d); len(l) > 0 {
		t.Errorf("an owner was told when jeju was cut off: %q", l)
	}

	shop.failing.Store(true)
	line := d.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	if !strings.Contains(line, "down from local and busan, 2 of 3") || !strings.Contains(line, "jeju cut off") ||
		!strings.Contains(line, "status 502, want 2xx") {
		t.Errorf("the owner reads %q, want it down from local and busan, 2 of 3, jeju cut off", line)
	}
	// The outage goes on a few seconds with jeju cut off: nothing more
	// for the owner.
	fails := metric(api, `hostwatch_probes_total{check="kim-shop/storefront",result="fail"}`)
	waitFor(t, "three more failures seen from here", func() bool {
		return metric(api, `hostwatch_probes_total{check="kim-shop/storefront",result="fail"}`) >= fails+3
	})

	agents["jeju"].restore(t)
	back := time.Now()
	d.waitLine(t, "REACHABLE jeju reaches the shops again: ")
	// A stopped agent has sent all it held, or says it has not.
	running["jeju"].stop(t)
	running["busan"].stop(t)
	d.stop(t)

	if n := d.count("CUT OFF "); n != 1 {
		t.Errorf("%d notices of a location cut off, want 1:\n%s", n, strings.Join(d.lines(), "\n"))
	}
	if n := d.count("REACHABLE "); n != 1 {
		t.Errorf("%d notices of a location back, want 1:\n%s", n, strings.Join(d.lines(), "\n"))
	}
	if l := ownerLines(d); len(l) != 1 {
		t.Errorf("the owners were told %q, want the one outage", l)
	}
	if log := running["jeju"].logString(); strings.Contains(log, "not sent") && strings.Contains(log, "stopped with") {
		t.Errorf("jeju stopped with results not sent:\n%s", log)
	}

	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs, err := st.Failures(context.Background(), "kim-shop/storefront", cut, back)
	if err != nil {
		t.Fatal(err)
	}
	var jeju []store.Failure
	for _, f := range fs {
		if strings.Contains(f.Error, "from jeju") {
			jeju = append(jeju, f)
		}
	}
	t.Logf("jeju cut off for %s; %d of its failures recorded in that time", back.Sub(cut).Round(time.Millisecond), len(jeju))
	for _, f := range jeju {
		// Probed once jeju was known to be cut off: recorded, not counted.
		if f.At.After(noticed) && !strings.HasPrefix(f.Error, "from jeju, cut off then: ") {
			t.Errorf("jeju's failure at %s, probed while it was cut off, reads %q", f.At.Format("15:04:05.000"), f.Error)
		}
	}
	unbroken(t, "jeju's probes while cut off", cut, back, times(jeju))
}

// places are a daemon in its namespace (location local) and agents in
// busan and jeju in theirs, probing every second; two locations confirm
// an outage, and a location unheard from for 3 s is cut off.
type places struct {
	api, db string
	daemon  *proc
	hosts   map[string]*host // the agents'
	agents  map[string]*proc
}

// startPlaces starts them on lan with the merchants given, once every
// location is up.
func startPlaces(t *testing.T, lan *lan, merchants string) *places {
	t.Helper()
	srv := lan.host("srv")
	p := &places{api: "http://" + srv.ip + ":8080", db: filepath.Join(t.TempDir(), "hostwatch.db"),
		hosts: map[string]*host{"busan": lan.host("busan"), "jeju": lan.host("jeju")}, agents: map[string]*proc{}}
	tokens := map[string]string{"busan": "busan-agent-token-5e1f0a", "jeju": "jeju-agent-token-93c7d2"}
	// The agents first: until the server answers they ask again within a
	// second, so that none goes unheard from for long at its start.
	for loc, h := range p.hosts {
		cmd := h.command(binary, "agent", "-server", p.api, "-location", loc, "-poll", "1s")
		cmd.Env = append(os.Environ(), "HOSTWATCH_AGENT_TOKEN="+tokens[loc])
		p.agents[loc] = start(t, loc+" agent", cmd)
	}
	p.daemon = daemon(t, srv, `
timezone: UTC
storage: {driver: sqlite, dsn: "`+p.db+`"}
http: {listen: "`+srv.ip+`:8080"}
agents:
  - {name: busan-1, location: busan, token: "${AGENT_BUSAN_TOKEN}"}
  - {name: jeju-1, location: jeju, token: "${AGENT_JEJU_TOKEN}"}
isolation: {silence: 3s}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 1, timeout: 800ms, group_wait: 0s, confirm: {locations: 2}}
merchants:`+merchants, "AGENT_BUSAN_TOKEN="+tokens["busan"], "AGENT_JEJU_TOKEN="+tokens["jeju"])
	waitFor(t, "every location up", func() bool { return allUp(p.api, 3) })
	return p
}

// times are the probe times of fs.
func times(fs []store.Failure) []time.Time {
	out := make([]time.Time, len(fs))
	for i, f := range fs {
		out[i] = f.At
	}
	return out
}

// unbroken fails unless ts, probes every second, cover from to to without
// a gap: in order, none lost. A run that fires late on a loaded machine
// narrows one gap and widens the next; a lost one makes a gap of two
// seconds.
func unbroken(t *testing.T, what string, from, to time.Time, ts []time.Time) {
	t.Helper()
	if len(ts) == 0 {
		t.Errorf("%s: none from %s to %s", what, from.Format("15:04:05.000"), to.Format("15:04:05.000"))
		return
	}
	edges := append(append([]time.Time{from}, ts...), to)
	for i := 1; i < len(edges); i++ {
		if gap := edges[i].Sub(edges[i-1]); gap < 0 || gap >= 1900*time.Millisecond {
			t.Errorf("%s: %s between %s and %s, want one a second", what, gap.Round(time.Millisecond),
				edges[i-1].Format("15:04:05.000"), edges[i].Format("15:04:05.000"))
		}
	}
}
