package quorum

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/store"
)

// fakeNow is a clock the tests move by hand.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { f.t = f.t.Add(2 * time.Second); return f.t }

func newDetector(canaries int) (*Detector, *[]Cut, *fakeNow) {
	var told []Cut
	clock := &fakeNow{t: t0}
	d := NewDetector(DetectorOptions{Ratio: 0.8, Canaries: canaries, Now: clock.now,
		Group: func(check string) string { m, _, _ := strings.Cut(check, "/"); return m },
		Told:  func(c Cut) { told = append(told, c) }})
	return d, &told, clock
}

// shops names n checks over two providers, a and b.
func shops(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%c/shop%d", 'a'+i%2, i))
	}
	return out
}

func TestDetector(t *testing.T) {
	t.Run("a location failing nearly everything others reach is cut off, and back", func(t *testing.T) {
		d, told, clock := newDetector(0)
		for _, c := range shops(10) {
			d.Result("local", c, clock.t, true)
			d.Result("busan", c, clock.t, true)
		}
		for _, c := range shops(10)[:9] {
			d.Result("busan", c, clock.t, false)
		}
		if !d.Isolated("busan") || d.Isolated("local") || len(*told) != 1 {
			t.Fatalf("busan isolated %v, local %v, told %+v", d.Isolated("busan"), d.Isolated("local"), *told)
		}
		if got := (*told)[0].Say(); got != "busan looks cut off: 90% of its checks failing at once" {
			t.Errorf("said %q", got)
		}
		for _, c := range shops(10) {
			d.Result("busan", c, clock.t, true)
		}
		if d.Isolated("busan") || len(*told) != 2 || (*told)[1].Cut || !(*told)[1].Since.Equal((*told)[0].At) {
			t.Errorf("back: isolated %v, told %+v", d.Isolated("busan"), *told)
		}
	})
	t.Run("what every location sees failing is an outage, not a cut", func(t *testing.T) {
		d, told, clock := newDetector(0)
		for _, c := range shops(10) {
			d.Result("local", c, clock.t, false)
			d.Result("busan", c, clock.t, false)
		}
		if d.Isolated("busan") || d.Isolated("local") || len(*told) != 0 {
			t.Errorf("told %+v", *told)
		}
	})
	t.Run("one provider failing is that provider's outage", func(t *testing.T) {
		d, told, clock := newDetector(0)
		for i := range 10 {
			d.Result("local", fmt.Sprintf("a/shop%d", i), clock.t, true)
			d.Result("busan", fmt.Sprintf("a/shop%d", i), clock.t, false)
		}
		if d.Isolated("busan") || len(*told) != 0 {
			t.Errorf("told %+v", *told)
		}
	})
	t.Run("what a silent location held, sent once back, neither counts nor cuts it off again", func(t *testing.T) {
		d, told, clock := newDetector(0)
		for _, c := range shops(10) {
			d.Result("local", c, clock.t, true)
			d.Result("busan", c, clock.t, true)
		}
		heard := clock.t
		d.Silent("busan", true, heard)
		if !d.Isolated("busan") || len(*told) != 1 || !(*told)[0].Since.Equal(heard) || (*told)[0].Say() != "busan looks cut off: its agents are not heard from" {
			t.Fatalf("silent: told %+v", *told)
		}
		// While still taken as silent, a first batch comes: held results.
		d.Result("busan", "a/shop0", heard.Add(time.Second), false)
		d.Silent("busan", false, heard)
		for _, c := range shops(10) {
			d.Result("busan", c, heard.Add(2*time.Second), false) // probed while cut off
		}
		if d.Isolated("busan") || len(*told) != 2 {
			t.Errorf("results held while cut off cut it off again: told %+v", *told)
		}
		if !d.Held("busan", heard.Add(2*time.Second)) || d.Held("busan", heard.Add(-time.Second)) || d.Held("busan", clock.t.Add(time.Hour)) {
			t.Error("Held does not cover the time from when busan was last heard to when it was back")
		}
	})
	t.Run("every canary failing cuts a lone location off", func(t *testing.T) {
		d, told, _ := newDetector(2)
		d.Canary("local", "~canary/0", false)
		if d.Isolated("local") {
			t.Fatal("one canary of two failing cut local off")
		}
		d.Canary("local", "~canary/1", false)
		if !d.Isolated("local") || len(*told) != 1 || (*told)[0].Say() != "local looks cut off: every canary fails from there" {
			t.Fatalf("told %+v", *told)
		}
		d.Canary("local", "~canary/1", false)
		d.Canary("local", "~canary/0", true)
		if d.Isolated("local") || len(*told) != 2 {
			t.Errorf("a canary reached again: told %+v", *told)
		}
	})
}

// TestCombinerHoldsWhileCutOff: probed from here alone, with the canaries
// failing, a shop failing opens nothing; once they pass, the shop's
// recovery tells nothing either. A location cut off does not count
// toward a quorum.
func TestCombinerHoldsWhileCutOff(t *testing.T) {
	d, _, _ := newDetector(1)
	shop := &config.Check{ID: "shop/home", DownAfter: 1, UpAfter: 1}
	out := &sink{}
	c := New(Options{Next: out, Self: "local", Checks: []*config.Check{shop}, Detector: d, Every: true,
		Locations: func(*config.Check) []string { return []string{"local"} }})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	obs := func(s int, ok bool, st store.State) {
		r := checks.Result{OK: ok}
		if !ok {
			r.Error = "dial tcp: i/o timeout"
		}
		c.Observe(monitor.Observation{Check: shop, At: at(s), Result: r, State: store.CheckState{Check: shop.ID, State: st, Since: at(s)}})
	}
	obs(0, true, store.Up)
	d.Canary("local", "~canary/0", false)
	obs(10, false, store.Down)
	obs(20, false, store.Down)
	d.Canary("local", "~canary/0", true)
	obs(30, true, store.Up)
	got := out.changes()
	if len(got) != 1 || got[0].Change.To != store.Up {
		t.Fatalf("changes %+v, want only the first up", got)
	}
	if e := out.obs[1].Result.Error; e != "local cut off, not counted; from local: dial tcp: i/o timeout" {
		t.Errorf("a failure while cut off says %q", e)
	}
}
