package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/cluster"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestSecondProcessUnderOneName: a daemon that takes a name a running
// process holds is refused, with the holder's PID; once that one leaves,
// the name is free.
func TestSecondProcessUnderOneName(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	running := exec.Command("sleep", "30")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer running.Process.Kill()
	host, _ := os.Hostname()
	holder := store.Instance{Name: "web-1", Token: "running", PID: running.Process.Pid, Host: host, Started: time.Now()}
	if _, _, err := st.Beat(ctx, holder, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	second := cluster.New(cluster.Options{Store: st, Name: "web-1"})
	var taken *store.ErrNameTaken
	if err := second.Join(ctx); !errors.As(err, &taken) || taken.Holder.PID != running.Process.Pid ||
		!strings.Contains(err.Error(), fmt.Sprintf("PID %d", running.Process.Pid)) {
		t.Fatalf("second under web-1: %v", err)
	}
	other := cluster.New(cluster.Options{Store: st, Name: "web-2"})
	if err := other.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if got := other.Members(); len(got) != 2 || got[0].Name != "web-1" || got[1].Name != "web-2" {
		t.Errorf("members: %+v", got)
	}
	if err := st.Leave(ctx, "web-1", "running"); err != nil {
		t.Fatal(err)
	}
	if err := second.Join(ctx); err != nil {
		t.Errorf("after the first left: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stop()
	if err := second.Run(runCtx); err != nil { // leaves at once
		t.Fatal(err)
	}
	if _, members, err := st.Beat(ctx, store.Instance{Name: "web-2", Token: other.Token(), Started: time.Now()}, time.Minute, 0); len(members) != 1 {
		t.Errorf("after web-1 left: %+v, %v", members, err)
	}
}

// TestJoinAfterAKill: a run killed before it could leave holds its lease
// until it ends, but a new run on the same host, finding its process gone,
// takes the name over at once.
func TestJoinAfterAKill(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	killed := store.Instance{Name: "web-1", Token: "killed", PID: dead.Process.Pid, Host: host, Started: time.Now()}
	if _, _, err := st.Beat(ctx, killed, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if err := cluster.New(cluster.Options{Store: st, Name: "web-1"}).Join(ctx); err != nil {
		t.Errorf("after a killed run: %v", err)
	}
	elsewhere := store.Instance{Name: "web-2", Token: "elsewhere", PID: dead.Process.Pid, Host: "another-host", Started: time.Now()}
	if _, _, err := st.Beat(ctx, elsewhere, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	var taken *store.ErrNameTaken
	if err := cluster.New(cluster.Options{Store: st, Name: "web-2"}).Join(ctx); !errors.As(err, &taken) {
		t.Errorf("a name held from another host was taken: %v", err)
	}
}

// TestChecksAreSharedOut: three instances on one store share 3,000 checks,
// each check to exactly one of them at any moment; when one stops renewing
// its lease, its checks go to the others when the lease ends, the others'
// stay where they are, and the stopped one knows it is fenced.
func TestChecksAreSharedOut(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ms []*cluster.Member
	for _, name := range []string{"web-1", "web-2", "web-3"} {
		m := cluster.New(cluster.Options{Store: st, Name: name, Shared: true, Every: 100 * time.Millisecond, TTL: 800 * time.Millisecond})
		if err := m.Join(ctx); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	for _, m := range ms[:2] {
		go m.Run(runCtx)
	}
	// web-3 beats until every one takes checks (each from a second after
	// it joined), then stops, as if killed: its lease runs out.
	killed := make(chan struct{})
	go func() {
		for {
			select {
			case <-killed:
				return
			case <-time.After(100 * time.Millisecond):
				ms[2].Join(ctx)
			}
		}
	}()
	time.Sleep(1300 * time.Millisecond)
	checks := make([]string, 3000)
	for i := range checks {
		checks[i] = fmt.Sprintf("shop%d/web", i)
	}
	owners := func(at time.Time) map[string]string {
		out := map[string]string{}
		for _, c := range checks {
			n := 0
			for _, m := range ms {
				if m.Owns(c, at) {
					out[c] = m.Name()
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%s has %d owners at %v", c, n, at)
			}
		}
		return out
	}
	before := owners(time.Now())
	close(killed)
	count := map[string]int{}
	for _, o := range before {
		count[o]++
	}
	for name, n := range count {
		if n < 800 || n > 1200 {
			t.Errorf("%s holds %d of 3,000 checks", name, n)
		}
	}
	if len(count) != 3 {
		t.Fatalf("owners: %v", count)
	}
	if ms[2].Fenced() {
		t.Error("web-3 is fenced while its lease runs")
	}
	time.Sleep(time.Second) // web-3's lease has ended
	after := owners(time.Now())
	moved := 0
	for c, was := range before {
		switch {
		case after[c] == "web-3":
			t.Fatalf("%s is still web-3's after its lease ended", c)
		case was != "web-3" && after[c] != was:
			t.Errorf("%s moved from %s to %s", c, was, after[c])
		case was == "web-3":
			moved++
		}
	}
	if moved != count["web-3"] || !ms[2].Fenced() || ms[0].Fenced() {
		t.Errorf("moved %d of web-3's %d; web-3 fenced %v, web-1 fenced %v", moved, count["web-3"], ms[2].Fenced(), ms[0].Fenced())
	}
}
