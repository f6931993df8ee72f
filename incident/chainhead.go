package incident

import (
	"context"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
)

// chainHeadPost is the name the store remembers the daily post of the
// chain's head by.
const chainHeadPost = "chain_head"

// chainHeadAt is the time of day, in the configured time zone, the head of
// the chain is posted at.
const chainHeadAt = 9 * time.Hour

// chainSlot is the last time the head of the chain was due, at or before
// now.
func (e *Engine) chainSlot(now time.Time) time.Time {
	loc := e.rules.Location
	if loc == nil {
		loc = time.UTC
	}
	n := now.In(loc)
	h, m := int(chainHeadAt/time.Hour), int(chainHeadAt%time.Hour/time.Minute)
	slot := time.Date(n.Year(), n.Month(), n.Day(), h, m, 0, 0, loc)
	if slot.After(n) {
		slot = time.Date(n.Year(), n.Month(), n.Day()-1, h, m, 0, 0, loc)
	}
	return slot
}

// chainHeads reports whether this engine posts the head of the chain: its
// store keeps one, and there are admins to post it to.
func (e *Engine) chainHeads() bool {
	_, ok := e.store.(store.Verifier)
	return ok && e.o.Router != nil && len(e.o.Router.Admins()) > 0
}

// postChainHead posts the head of the chain to the admins once a day, when
// it changed since the last post, so that a copy of it lives outside the
// database. The store remembers the last post, in the transaction that
// writes the message: a restart posts neither twice nor not at all.
func (e *Engine) postChainHead(ctx context.Context) {
	if !e.chainHeads() {
		return
	}
	slot := e.chainSlot(e.clock.Now())
	e.mu.Lock()
	done := !e.chainDone.Before(slot)
	e.mu.Unlock()
	if done {
		return
	}
	seq, hash, at, err := e.store.(store.Verifier).ChainHead(ctx)
	if err != nil {
		e.log.Error("read the head of the chain to post it; will retry", "err", err)
		return
	}
	err = e.update(ctx, func(p *pass) error {
		last, posted, err := p.tx.LastPost(ctx, chainHeadPost)
		if err != nil {
			return err
		}
		if last.IsZero() {
			// The first run owes no post for a day before it: the first
			// goes out at the next time of day.
			return p.tx.SetPost(ctx, chainHeadPost, p.now, "")
		}
		head := fmt.Sprintf("%d %s", seq, hash)
		if !last.Before(slot) || seq == 0 || posted == head {
			return nil
		}
		payload, err := notifier.Encode(notifier.Message{Kind: notifier.ChainHead, Entry: seq, Hash: hash, At: at})
		if err != nil {
			return err
		}
		var items []store.OutboxItem
		for _, dest := range e.o.Router.Admins() {
			items = append(items, store.OutboxItem{CreatedAt: p.now, Destination: dest, Op: "send", Payload: payload})
		}
		if err := p.tx.Enqueue(ctx, items); err != nil {
			return err
		}
		p.sent = true
		return p.tx.SetPost(ctx, chainHeadPost, p.now, head)
	})
	if err != nil {
		return // errNotLeader, a lost lease, or a failed pass, which update has logged or the next tick retries
	}
	e.mu.Lock()
	e.chainDone = slot
	e.mu.Unlock()
}
