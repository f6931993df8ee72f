package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
)

// TestChainHeadDaily: the head of the chain goes to the admins once a day
// at 09:00, only when it changed, and a restart does not post it twice.
func TestChainHeadDaily(t *testing.T) {
	w := newWorld(t, escalation)
	w.expect("nothing while the chain is empty")
	w.down("kim-shop/web")
	w.advance(time.Hour) // the escalation runs its course
	w.sent()

	// t0 is 14:02; 09:00 the next day is 18h58m after it.
	w.advance(17*time.Hour + 57*time.Minute)
	w.expect("nothing before 09:00")
	w.advance(time.Minute)
	got := w.chainHeads()
	seq, hash, at, err := w.db.ChainHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Entry != seq || got[0].Hash != hash || !got[0].At.Equal(at) || seq == 0 {
		t.Fatalf("at 09:00: %+v, want entry %d %s at %s", got, seq, hash, at)
	}

	w.advance(6 * time.Hour)
	w.restart()
	w.advance(time.Hour)
	w.expect("nothing more the same day, restart or not")

	w.advance(17 * time.Hour)
	w.expect("nothing the next day while the chain did not change")

	w.up("kim-shop/web")
	w.sent()
	w.advance(24 * time.Hour)
	if got := w.chainHeads(); len(got) != 1 || got[0].Entry <= seq {
		t.Errorf("the day after a change: %+v", got)
	}
}

// chainHeads reads the chain_head messages written since the last read,
// failing on any other message or one not to the admins.
func (w *world) chainHeads() []notifier.Message {
	w.t.Helper()
	items := outbox(w.t, w.db)
	var out []notifier.Message
	for _, it := range items[w.seen:] {
		m := decode(w.t, it)
		if m.Kind != notifier.ChainHead || it.Destination != "telegram:222" {
			w.t.Errorf("%s to %s, want chain_head to the admins", m.Kind, it.Destination)
			continue
		}
		out = append(out, m)
	}
	w.seen = len(items)
	return out
}
