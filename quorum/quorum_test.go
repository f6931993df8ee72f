package quorum

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)

func view(loc string, st store.State, since time.Duration) View {
	return View{Location: loc, State: store.CheckState{State: st, Since: t0.Add(since)}}
}

func TestDecide(t *testing.T) {
	cutOff := func(l string) bool { return l == "busan" }
	tests := []struct {
		name     string
		rule     Rule
		views    []View
		isolated func(string) bool
		down     bool
		since    time.Duration
		summary  string
	}{
		{"one of three is not two", Rule{Locations: 2}, []View{view("local", store.Down, 0), view("busan", store.Up, 0), view("jeju", store.Up, 0)}, nil,
			false, 0, "down from local, 1 of 3; busan and jeju still reach it"},
		{"two of three", Rule{Locations: 2}, []View{view("local", store.Down, 5*time.Second), view("busan", store.Down, 0), view("jeju", store.Up, 0)}, nil,
			true, 5 * time.Second, "down from local and busan, 2 of 3; jeju still reaches it"},
		{"an isolated location does not count", Rule{Locations: 2}, []View{view("local", store.Down, 0), view("busan", store.Down, 0), view("jeju", store.Up, 0)}, cutOff,
			false, 0, "down from local, 1 of 3; jeju still reaches it; busan cut off, not counted"},
		{"majority of three is two", Rule{Majority: true}, []View{view("local", store.Down, 0), view("busan", store.Unknown, 0), view("jeju", store.Down, 3*time.Second)}, nil,
			true, 3 * time.Second, "down from local and jeju, 2 of 3"},
		{"majority of four is three", Rule{Majority: true}, []View{view("a", store.Down, 0), view("b", store.Down, 0), view("c", store.Up, 0), view("d", store.Up, 0)}, nil,
			false, 0, "down from a and b, 2 of 4; c and d still reach it"},
		{"a rule asking more than there are asks them all", Rule{Locations: 5}, []View{view("local", store.Down, 0), view("busan", store.Down, time.Second)}, nil,
			true, time.Second, "down from local and busan, 2 of 2"},
		{"no rule is one location", Rule{}, []View{view("local", store.Up, 0), view("busan", store.Down, 0)}, nil,
			true, 0, "down from busan, 1 of 2; local still reaches it"},
		{"up everywhere", Rule{Locations: 2}, []View{view("local", store.Up, 0), view("busan", store.Up, 0)}, nil,
			false, 0, "up from local and busan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decide(tt.rule, tt.views, tt.isolated)
			if v.IsDown() != tt.down {
				t.Errorf("down %v, want %v (%+v)", v.IsDown(), tt.down, v)
			}
			if tt.down && !v.Since.Equal(t0.Add(tt.since)) {
				t.Errorf("since %v, want %v", v.Since, t0.Add(tt.since))
			}
			if got := v.Summary(); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
		})
	}
}

// sink keeps what reaches the engine.
type sink struct {
	mu  sync.Mutex
	obs []monitor.Observation
}

func (s *sink) Observe(o monitor.Observation) {
	s.mu.Lock()
	s.obs = append(s.obs, o)
	s.mu.Unlock()
}

func (s *sink) changes() []monitor.Observation {
	var out []monitor.Observation
	for _, o := range s.obs {
		if o.Change != nil {
			out = append(out, o)
		}
	}
	return out
}

// TestCombiner follows a shop probed from three places, two needed to
// confirm: one place failing alone opens nothing, the second opens the
// outage dated from when the second began to fail, and the check is back
// once fewer than two see it down.
func TestCombiner(t *testing.T) {
	shop := &config.Check{ID: "shop/home", DownAfter: 2, UpAfter: 1}
	solo := &config.Check{ID: "solo/home", DownAfter: 1, UpAfter: 1}
	out := &sink{}
	locs := map[string][]string{shop.ID: {"local", "busan", "jeju"}, solo.ID: {"local"}}
	c := New(Options{Next: out, Rule: Rule{Locations: 2}, Self: "local", Checks: []*config.Check{shop, solo},
		Locations: func(c *config.Check) []string { return locs[c.ID] }})

	ok, fail := checks.Result{OK: true}, checks.Result{Kind: "status", Error: "status 500, want 2xx"}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// The local probes go through the monitor, which applied the
	// thresholds already; the agents' through Probed.
	local := func(s int, r checks.Result, st store.State, since int) {
		c.Observe(monitor.Observation{Check: shop, At: at(s), Result: r, State: store.CheckState{Check: shop.ID, State: st, Since: at(since)}})
	}
	for _, loc := range []string{"busan", "jeju"} {
		if !c.Probed(loc, shop.ID, at(0), ok) {
			t.Fatalf("%s: not placed", loc)
		}
	}
	if c.Probed("busan", solo.ID, at(0), ok) || c.Probed("mars", shop.ID, at(0), ok) {
		t.Fatal("a probe from a location a check is not placed at was taken")
	}
	local(0, ok, store.Up, 0)
	if got := out.changes(); len(got) != 1 || got[0].Change.To != store.Up {
		t.Fatalf("first probes: changes %+v, want one to up", got)
	}

	local(10, fail, store.Unknown, 10) // not yet down_after locally
	local(20, fail, store.Down, 10)    // local sees it down
	if got := out.changes(); len(got) != 1 {
		t.Fatalf("one location down: changes %d, want none new", len(got)-1)
	}
	if last := out.obs[len(out.obs)-1]; last.Result.Error != "from local: status 500, want 2xx" || last.State.State != store.Up {
		t.Errorf("a failure seen locally reaches the engine as %q in state %s", last.Result.Error, last.State.State)
	}
	c.Probed("busan", shop.ID, at(25), fail)
	c.Probed("busan", shop.ID, at(25), fail) // the same batch again: not a second failure
	if got := out.changes(); len(got) != 1 {
		t.Fatalf("a result sent twice counted twice: changes %+v", got)
	}
	c.Probed("busan", shop.ID, at(35), fail)
	got := out.changes()
	if len(got) != 2 || got[1].Change.To != store.Down {
		t.Fatalf("two locations down: changes %+v, want the outage", got)
	}
	down := got[1]
	if !down.Change.Since.Equal(at(25)) {
		t.Errorf("outage since %v, want %v: when the second location began to fail", down.Change.Since, at(25))
	}
	if want := "down from local and busan, 2 of 3; jeju still reaches it; from busan: status 500, want 2xx"; down.Result.Error != want {
		t.Errorf("the failure that confirmed it says %q, want %q", down.Result.Error, want)
	}
	if _, views, _ := c.State(shop.ID); len(views) != 3 || views[1].State.State != store.Down || views[2].State.State != store.Up {
		t.Errorf("views %+v", views)
	}

	// busan recovers: one location left seeing it down, fewer than two.
	c.Probed("busan", shop.ID, at(45), ok)
	got = out.changes()
	if len(got) != 3 || got[2].Change.From != store.Down || got[2].Change.To != store.Up {
		t.Fatalf("fewer than two down: changes %+v, want back up", got)
	}
	if !strings.HasPrefix(got[2].Result.Evidence, "down from local, 1 of 3") {
		t.Errorf("recovery evidence %q", got[2].Result.Evidence)
	}

	// A check probed here alone goes through untouched.
	o := monitor.Observation{Check: solo, At: at(50), Result: fail, State: store.CheckState{Check: solo.ID, State: store.Down, Since: at(50)},
		Change: &monitor.Change{From: store.Up, To: store.Down, Since: at(50)}}
	n := len(out.obs)
	c.Observe(o)
	if got := out.obs[n]; got.Result.Error != fail.Error || got.Change == nil || got.Change.To != store.Down {
		t.Errorf("a check probed here alone came through as %+v", got)
	}
}
