package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

func testMembers(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := open(t), open(t)
	started := time.Now().Truncate(time.Millisecond)
	one := store.Instance{Name: "web-1", Token: "run-1", Location: "seoul", PID: 11, Host: "h1", Started: started, Checks: 5}
	two := store.Instance{Name: "web-2", Token: "run-2", PID: 12, Host: "h2", Started: started}
	now, members, err := a.Beat(ctx, one, 8*time.Second, 3*time.Second)
	if err != nil || len(members) != 1 {
		t.Fatalf("first beat: %+v, %v", members, err)
	}
	got := members[0]
	if got.Name != "web-1" || got.Token != "run-1" || got.Location != "seoul" || got.PID != 11 || got.Host != "h1" || got.Checks != 5 ||
		!got.Started.Equal(started) || !got.Seen.Equal(now) || !got.Until.Equal(now.Add(8*time.Second)) || !got.Since.Equal(now.Add(3*time.Second)) {
		t.Errorf("joined as %+v (now %v)", got, now)
	}
	if d := now.Sub(time.Now()); d > 5*time.Second || d < -5*time.Second {
		t.Errorf("the store's now is %v off this host's", d)
	}
	joined := got.Since
	_, members, err = b.Beat(ctx, two, 8*time.Second, 3*time.Second)
	if err != nil || len(members) != 2 || members[0].Name != "web-1" || members[1].Name != "web-2" {
		t.Fatalf("second instance: %+v, %v", members, err)
	}
	// A renewal keeps the time it joined and moves the lease.
	one.Checks = 9
	now, members, err = a.Beat(ctx, one, 8*time.Second, 3*time.Second)
	if err != nil || !members[0].Since.Equal(joined) || !members[0].Until.Equal(now.Add(8*time.Second)) || members[0].Checks != 9 {
		t.Errorf("renewed: %+v, %v", members, err)
	}
	// Another run under a held name is refused, naming the holder.
	var taken *store.ErrNameTaken
	imposter := store.Instance{Name: "web-1", Token: "run-3", PID: 13, Host: "h3", Started: started}
	if _, _, err := b.Beat(ctx, imposter, 8*time.Second, 3*time.Second); !errors.As(err, &taken) || taken.Holder.PID != 11 || taken.Holder.Host != "h1" {
		t.Errorf("imposter: %v", err)
	}
	// ...unless it replaces that run, known to be gone.
	imposter.Replaces = "run-1"
	if _, members, err := b.Beat(ctx, imposter, 8*time.Second, 3*time.Second); err != nil || members[0].Token != "run-3" || members[0].Since.Equal(joined) {
		t.Errorf("replacing a gone run: %+v, %v", members, err)
	}
	// A run that left is gone from the membership at once.
	if err := b.Leave(ctx, "web-2", "run-2"); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(ctx, "web-1", "run-1"); err != nil { // not its run any more: nothing
		t.Fatal(err)
	}
	_, members, err = b.Beat(ctx, imposter, 8*time.Second, 3*time.Second)
	if err != nil || len(members) != 1 || members[0].Name != "web-1" {
		t.Errorf("after web-2 left: %+v, %v", members, err)
	}
	// A lease that ran out joins afresh: from now plus settle.
	short := store.Instance{Name: "web-4", Token: "run-4", Started: started}
	if _, _, err := a.Beat(ctx, short, 50*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	now, members, err = a.Beat(ctx, short, 8*time.Second, 3*time.Second)
	if err != nil || len(members) != 2 || !members[1].Since.Equal(now.Add(3*time.Second)) {
		t.Errorf("after its lease ran out: %+v, %v", members, err)
	}
}
