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
