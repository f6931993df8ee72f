package notifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/webhook"
	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

var start = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

type rig struct {
	t      *testing.T
	db     *sqlite.DB
	d      *notifier.Dispatcher
	cancel context.CancelFunc
	done   chan error

	mu            sync.Mutex
	undeliverable []store.OutboxItem
	reasons       []string // the errors of undeliverable, as given
}

// newRig runs a dispatcher over a fresh store, delivering to webhooks.
func newRig(t *testing.T, contacts []config.Contact, o notifier.DispatcherOptions) *rig {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{t: t, db: db}
	r.start(contacts, o)
	return r
}

func (r *rig) start(contacts []config.Contact, o notifier.DispatcherOptions) {
	o.Outbox = r.db
	o.Notifiers = map[string]notifier.Notifier{"webhook": webhook.New(contacts, notifier.PlainRenderer(time.UTC), "hostwatch/test")}
	o.Undeliverable = func(_ context.Context, it store.OutboxItem, err error) {
		r.mu.Lock()
		r.undeliverable = append(r.undeliverable, it)
		r.reasons = append(r.reasons, err.Error())
		r.mu.Unlock()
	}
	d, err := notifier.NewDispatcher(o)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.d, r.cancel, r.done = d, cancel, make(chan error, 1)
	go func() { r.done <- d.Run(ctx) }()
	r.t.Cleanup(r.stop)
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// enqueue writes n down messages for incident to each destination, as the
// engine does, and wakes the dispatcher.
func (r *rig) enqueue(incident int64, n int, dests ...string) {
	r.t.Helper()
	var items []store.OutboxItem
	for i := range n {
		m := notifier.Message{Kind: notifier.Down, Incident: incident, Check: "shop/web", Start: start, Failures: i + 1}
		payload, _ := json.Marshal(m)
		for _, d := range dests {
			items = append(items, store.OutboxItem{CreatedAt: time.Now(), Destination: d, Incident: incident, Op: "send", Payload: payload})
		}
	}
	if err := r.db.Update(context.Background(), func(tx store.Tx) error { return tx.Enqueue(context.Background(), items) }); err != nil {
		r.t.Fatal(err)
	}
	r.d.Wake()
}

// owners are n contacts with a webhook each, at srv under /owner/0,
// /owner/1, ..., and their destinations.
func owners(srv *webhooktest.Server, n int) ([]config.Contact, []string) {
	var contacts []config.Contact
	var dests []string
	for i := range n {
		name := fmt.Sprintf("owner%d", i)
		contacts = append(contacts, config.Contact{Name: name, Webhook: fmt.Sprintf("%s/owner/%d", srv.URL, i)})
		dests = append(dests, "webhook:"+name)
	}
	return contacts, dests
}

// eachInOrder checks that each of n destinations received each of its
// messages once, in order.
func eachInOrder(t *testing.T, ds []webhooktest.Delivery, n, each int) {
	t.Helper()
	byPath := map[string][]webhooktest.Delivery{}
	for _, d := range ds {
		byPath[d.Path] = append(byPath[d.Path], d)
	}
	if len(byPath) != n {
		t.Errorf("deliveries to %d destinations, want %d", len(byPath), n)
	}
	for path, ds := range byPath {
		if len(ds) != each {
			t.Errorf("%s: %d deliveries, want %d", path, len(ds), each)
		}
		inOrder(t, ds)
	}
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inOrder checks that deliveries are in the order the messages were
// written, without duplicates.
func inOrder(t *testing.T, ds []webhooktest.Delivery) {
	t.Helper()
	last := int64(0)
	for _, d := range ds {
		id, _ := strconv.ParseInt(d.Body.Delivery, 10, 64)
		if d.Duplicate || id <= last {
			t.Errorf("delivery %d after %d (duplicate: %v)", id, last, d.Duplicate)
		}
		last = id
	}
}

// TestFailingDestinationHoldsUpOnlyItself: one receiver answers 500 for a
// minute (of a fake clock, with the real backoff); the other gets its
// messages at once, and the failing one gets all of its own, in order, once
// it recovers.
func TestFailingDestinationHoldsUpOnlyItself(t *testing.T) {
	bad, good := webhooktest.New(""), webhooktest.New("")
	defer bad.Close()
	defer good.Close()
	bad.Fail(http.StatusInternalServerError, "")
	clock := clockwork.NewFakeClockAt(time.Now())
	r := newRig(t, []config.Contact{{Name: "bad", Webhook: bad.URL}, {Name: "good", Webhook: good.URL}},
		notifier.DispatcherOptions{Clock: clock})
	r.enqueue(1, 5, "webhook:bad", "webhook:good")
	time.Sleep(20 * time.Millisecond)
	clock.Advance(time.Second) // the messages were written at the real time, a little ahead of the fake clock

	eventually(t, 5*time.Second, "the good destination", func() bool { return len(good.Deliveries()) == 5 })
	for range 59 {
		time.Sleep(5 * time.Millisecond) // let a due retry run
		clock.Advance(time.Second)
	}
	time.Sleep(50 * time.Millisecond)
	if len(bad.Deliveries()) != 0 {
		t.Fatal("the failing destination accepted something")
	}
	// Backoff from 1s doubling, with jitter: a handful of tries in a
	// minute, not a busy loop and not silence.
	if n := bad.Requests(); n < 4 || n > 10 {
		t.Errorf("%d attempts in a minute of 500s", n)
	}
	bad.Fail(0, "")
	for len(bad.Deliveries()) < 5 {
		clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	inOrder(t, good.Deliveries())
	inOrder(t, bad.Deliveries())
	time.Sleep(50 * time.Millisecond)
	if n := len(bad.Deliveries()) + len(good.Deliveries()); n != 10 {
		t.Errorf("%d deliveries, want 10", n)
	}
}

// TestRetryAfterIsHonoured: a 429 asking for 2 s gets the message after
// about 2 s: not sooner, and not never.
func TestRetryAfterIsHonoured(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.Fail(http.StatusTooManyRequests, "2")
	r := newRig(t, []config.Contact{{Name: "ops", Webhook: srv.URL}}, notifier.DispatcherOptions{BackoffBase: time.Millisecond})
	begin := time.Now()
	r.enqueue(1, 1, "webhook:ops")
	eventually(t, 5*time.Second, "the refusal", func() bool { return srv.Requests() == 1 })
	srv.Fail(0, "")
	eventually(t, 10*time.Second, "the delivery", func() bool { return len(srv.Deliveries()) == 1 })
	took := time.Since(begin)
	if took < 2*time.Second || took > 3500*time.Millisecond {
		t.Errorf("delivered after %v, want about 2s", took)
	}
	if srv.Requests() != 2 {
		t.Errorf("%d requests: the wait was not honoured", srv.Requests())
	}
}

// TestPermanentFailureDoesNotBlock: a refusal for good is tried once,
// reported, and the next message goes out.
func TestPermanentFailureDoesNotBlock(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.Fail(http.StatusGone, "")
	r := newRig(t, []config.Contact{{Name: "ops", Webhook: srv.URL}}, notifier.DispatcherOptions{BackoffBase: time.Millisecond})
	r.enqueue(1, 1, "webhook:ops")
	eventually(t, 5*time.Second, "the refusal", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.undeliverable) == 1
	})
	srv.Fail(0, "")
	r.enqueue(2, 1, "webhook:ops")
	eventually(t, 5*time.Second, "the next message", func() bool { return len(srv.Deliveries()) == 1 })
	if srv.Requests() != 2 {
		t.Errorf("%d requests; a permanent refusal must not be retried", srv.Requests())
	}
	first, err := r.db.Item(context.Background(), 1)
	if err != nil || first.State != store.Failed || first.Attempts != 1 {
		t.Errorf("first item = %+v, %v", first, err)
	}
}

// TestShutdownDrainsThenLeavesTheRest: at shutdown what can be delivered
// within the drain timeout is; the rest stays pending and goes out after a
// restart, with nothing sent twice.
func TestShutdownDrainsThenLeavesTheRest(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.Slow(150 * time.Millisecond)
	contacts := []config.Contact{{Name: "ops", Webhook: srv.URL}}
	o := notifier.DispatcherOptions{DrainTimeout: 400 * time.Millisecond}
	r := newRig(t, contacts, o)
	r.enqueue(1, 20, "webhook:ops")
	eventually(t, 5*time.Second, "the first delivery", func() bool { return len(srv.Deliveries()) >= 1 })
	begin := time.Now()
	r.stop()
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("shutdown took %v with a drain timeout of 400ms", took)
	}
	sent := len(srv.Deliveries())
	pending, err := r.db.Pending(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if sent == 20 || len(pending) == 0 {
		t.Fatalf("sent %d, pending %d: the test needs a slow receiver", sent, len(pending))
	}
	srv.Slow(0)
	r.start(contacts, o)
	eventually(t, 10*time.Second, "the rest after restart", func() bool { return len(srv.Deliveries()) >= 20 })
	time.Sleep(100 * time.Millisecond)
	ds := srv.Deliveries()
	dups := 0
	for _, d := range ds {
		if d.Duplicate {
			dups++
		}
	}
	// The message in flight at the drain timeout was answered before the
	// stop, not sent again after it.
	if len(ds) != 20 || dups != 0 {
		t.Errorf("%d deliveries, %d duplicates, for 20 messages", len(ds), dups)
	}
}

// TestStopFinishesTheSendsUnderWay: a receiver that takes each message at
// once and answers half a second later. The dispatcher stops with a
// message in flight to each destination and a drain timeout shorter than
// the answer: it waits for the answers, records the messages sent, and
// after a restart every destination has every message exactly once.
func TestStopFinishesTheSendsUnderWay(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	const answer = 500 * time.Millisecond
	srv.SlowAnswer(answer)
	contacts, dests := owners(srv, 3)
	o := notifier.DispatcherOptions{DrainTimeout: 100 * time.Millisecond}
	r := newRig(t, contacts, o)
	r.enqueue(1, 4, dests...)
	eventually(t, 5*time.Second, "a message taken by each destination", func() bool { return len(srv.Deliveries()) >= 3 })
	begin := time.Now()
	r.stop()
	took := time.Since(begin)
	if took < answer/2 || took > answer+2*time.Second {
		t.Errorf("stopped after %v: the answers (%v) were not awaited, or not within bounds", took, answer)
	}
	taken := srv.Deliveries()
	if len(taken) >= 12 {
		t.Fatalf("all %d messages went out before the stop; the test needs some left", len(taken))
	}
	for _, d := range taken {
		id, _ := strconv.ParseInt(d.Body.Delivery, 10, 64)
		if it, err := r.db.Item(context.Background(), id); err != nil || it.State != store.Sent {
			t.Errorf("message %d, taken by the receiver before the stop, is %s (%v)", id, it.State, err)
		}
	}

	srv.SlowAnswer(0)
	r.start(contacts, o)
	eventually(t, 10*time.Second, "the rest after the restart", func() bool { return len(srv.Deliveries()) >= 12 })
	time.Sleep(200 * time.Millisecond)
	eachInOrder(t, srv.Deliveries(), 3, 4)
}

// TestStopDoesNotWaitForeverForAnAnswer: a receiver that never answers
// holds the stop for the drain timeout and the send timeout, not longer,
// and the message stays pending with the failure recorded.
func TestStopDoesNotWaitForeverForAnAnswer(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.Slow(time.Minute)
	o := notifier.DispatcherOptions{DrainTimeout: 100 * time.Millisecond, SendTimeout: 300 * time.Millisecond}
	r := newRig(t, []config.Contact{{Name: "ops", Webhook: srv.URL}}, o)
	r.enqueue(1, 1, "webhook:ops")
	eventually(t, 5*time.Second, "the request", func() bool { return srv.Requests() == 1 })
	begin := time.Now()
	r.stop()
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("stop took %v with a send timeout of 300ms", took)
	}
	it, err := r.db.Item(context.Background(), 1)
	if err != nil || it.State != store.Pending || it.Attempts != 1 || it.LastError == "" {
		t.Errorf("item is %s after %d attempts, error %q (%v); want pending after one attempt, with its error", it.State, it.Attempts, it.LastError, err)
	}
}

// editor is an in-process platform that numbers its messages and can edit
// them, like a chat app.
type editor struct {
	mu    sync.Mutex
	texts map[string]string // receipt → text
	next  int
}

func (e *editor) Send(_ context.Context, address string, m notifier.Message) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	r := fmt.Sprintf("%s/%d", address, e.next)
	e.texts[r] = notifier.PlainRenderer(time.UTC).Line(m)
	return r, nil
}

func (e *editor) Edit(_ context.Context, address, receipt string, m notifier.Message) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.texts[receipt]; !ok {
		return notifier.Permanent(fmt.Errorf("message %s not found", receipt))
	}
	e.texts[receipt] = notifier.PlainRenderer(time.UTC).Line(m)
	return nil
}

// TestEditFindsTheSentMessage: an edit goes through the outbox after the
// send it refers to, and changes that very message on the platform.
func TestEditFindsTheSentMessage(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ed := &editor{texts: map[string]string{}}
	d, err := notifier.NewDispatcher(notifier.DispatcherOptions{Outbox: db, Notifiers: map[string]notifier.Notifier{"chat": ed}})
	if err != nil {
		t.Fatal(err)
	}
	down := notifier.Message{Kind: notifier.Down, Incident: 7, Check: "shop/web", Start: start, Error: "refused"}
	up := down
	up.Kind, up.End = notifier.Resolved, start.Add(time.Hour)
	now := time.Now()
	pd, _ := json.Marshal(down)
	pu, _ := json.Marshal(up)
	err = db.Update(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, []store.OutboxItem{{CreatedAt: now, Destination: "chat:42", Incident: 7, Op: "send", Payload: pd}})
	})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := db.Pending(ctx, 0, 1)
	if err != nil || len(sent) != 1 {
		t.Fatalf("the alert: %+v, %v", sent, err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, []store.OutboxItem{
			{CreatedAt: now, Destination: "chat:42", Incident: 7, Op: "edit", Ref: sent[0].ID, Payload: pu},
			{CreatedAt: now, Destination: "chat:42", Incident: 7, Op: "send", Payload: pu},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	eventually(t, 5*time.Second, "three deliveries", func() bool {
		items, _ := db.Pending(ctx, 0, 10)
		return len(items) == 0
	})
	cancel()
	<-done
	ed.mu.Lock()
	defer ed.mu.Unlock()
	want := map[string]string{
		"42/1": "UP shop/web is back: Incident #7 resolved: 14:02–15:02, down 1h00m", // the down message, edited
		"42/2": "UP shop/web is back: Incident #7 resolved: 14:02–15:02, down 1h00m",
	}
	if fmt.Sprint(ed.texts) != fmt.Sprint(want) {
		t.Errorf("platform holds %v, want %v", ed.texts, want)
	}
	for id := int64(1); id <= 3; id++ {
		it, _ := db.Item(ctx, id)
		if it.State != store.Sent || it.Receipt == "" {
			t.Errorf("item %d = %+v", id, it)
		}
	}
}

// TestDrainDeliversWhatWasJustWritten: messages written an instant before
// the dispatcher is told to stop still go out in the drain.
func TestDrainDeliversWhatWasJustWritten(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	r := newRig(t, []config.Contact{{Name: "ops", Webhook: srv.URL}}, notifier.DispatcherOptions{DrainTimeout: 5 * time.Second})
	r.enqueue(1, 3, "webhook:ops")
	r.stop()
	if n := len(srv.Deliveries()); n != 3 {
		t.Errorf("%d of 3 delivered in the drain", n)
	}
}

// TestPacingCountsFromTheActualSend: when the platform's overall limit holds
// sends back, two messages to one destination are still at least its
// interval apart, so the receiver's per-destination limit refuses none.
func TestPacingCountsFromTheActualSend(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.LimitEach(1, time.Second, nil)
	contacts, dests := owners(srv, 20)
	r := newRig(t, contacts, notifier.DispatcherOptions{Pacing: map[string]notifier.Pacing{"webhook": {
		Global:         notifier.Pace{N: 30, Per: time.Second},
		PerDestination: func(string) notifier.Pace { return notifier.Pace{N: 1, Per: time.Second} },
	}}})
	r.enqueue(1, 2, dests...)
	eventually(t, 20*time.Second, "40 deliveries", func() bool { return len(srv.Deliveries()) == 40 })
	if n := srv.Limited(); n != 0 {
		t.Errorf("%d requests broke the per-destination limit", n)
	}
}

// TestStormKeepsThePlatformLimit: a burst to more destinations than the
// platform takes in a second reaches a receiver that refuses a 31st
// message within any second without one refusal.
func TestStormKeepsThePlatformLimit(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.LimitAll(30, time.Second)
	contacts, dests := owners(srv, 75)
	r := newRig(t, contacts, notifier.DispatcherOptions{Pacing: map[string]notifier.Pacing{"webhook": {
		Global: notifier.Pace{N: 30, Per: time.Second},
	}}})
	r.enqueue(1, 1, dests...)
	eventually(t, 20*time.Second, "75 deliveries", func() bool { return len(srv.Deliveries()) == 75 })
	if n := srv.Limited(); n != 0 {
		t.Errorf("%d requests broke the platform's limit", n)
	}
}

// TestInstancesShareTheOutbox: three dispatchers, as three instances, on
// one store deliver a burst to twenty destinations: every message once, in
// order per destination, never two at once to one destination. A
// destination claimed by an instance that died is taken over when its
// claim runs out.
func TestInstancesShareTheOutbox(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) { instancesShareTheOutbox(t, driver) })
	}
}

func instancesShareTheOutbox(t *testing.T, driver string) {
	ctx := context.Background()
	srv := webhooktest.New("")
	defer srv.Close()
	srv.Slow(20 * time.Millisecond)
	contacts, dests := owners(srv, 20)
	var open func() store.Store
	if driver == "postgres" {
		dsn := pgtest.Database(t)
		open = func() store.Store {
			db, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	} else {
		path := filepath.Join(t.TempDir(), "h.db")
		open = func() store.Store {
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	}
	first := open()
	// A dead instance's claim on the first destination runs for a while.
	var items []store.OutboxItem
	for i := range 5 {
		payload, _ := json.Marshal(notifier.Message{Kind: notifier.Down, Incident: 1, Check: "shop/web", Start: start, Failures: i + 1})
		for _, d := range dests {
			items = append(items, store.OutboxItem{CreatedAt: time.Now(), Destination: d, Incident: 1, Op: "send", Payload: payload})
		}
	}
	if err := first.Update(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, items) }); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Claim(ctx, "dead", 1500*time.Millisecond, 1); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	for i := range 3 {
		st := first
		if i > 0 {
			st = open()
		}
		d, err := notifier.NewDispatcher(notifier.DispatcherOptions{Outbox: st, Holder: fmt.Sprintf("run-%d", i), ClaimTTL: 2 * time.Second,
			Notifiers: map[string]notifier.Notifier{"webhook": webhook.New(contacts, notifier.PlainRenderer(time.UTC), "hostwatch/test")}})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	eventually(t, 20*time.Second, "every message", func() bool { return len(srv.Deliveries()) >= 100 })
	time.Sleep(300 * time.Millisecond)
	eachInOrder(t, srv.Deliveries(), 20, 5)
	if n := srv.Overlaps(); n != 0 {
		t.Errorf("%d messages went to a destination while another to it was in flight", n)
	}
	var deadOnes []webhooktest.Delivery
	for _, d := range srv.Deliveries() {
		if d.Path == "/owner/0" {
			deadOnes = append(deadOnes, d)
		}
	}
	if len(deadOnes) > 0 && deadOnes[0].At.Sub(began) < time.Second {
		t.Errorf("the dead instance's destination got a message %v after the start, inside its claim", deadOnes[0].At.Sub(began))
	}
}

// TestSecretURLNeverLoggedNorStored: receivers whose error pages echo the
// webhook's URL, secret path and query included, one failing for a while
// (500) and one for good (404): the secret is in no log line, no stored
// last error, and not in what the admins are told.
func TestSecretURLNeverLoggedNorStored(t *testing.T) {
	failing, gone := webhooktest.New(""), webhooktest.New("")
	defer failing.Close()
	defer gone.Close()
	failing.Fail(http.StatusInternalServerError, "")
	gone.Fail(http.StatusNotFound, "")
	const pathSecret, querySecret = "PATH-s3cret-0123456789", "QUERY-s3cret-9876543210"
	contacts := []config.Contact{
		{Name: "failing", Webhook: failing.URL + "/hooks/" + pathSecret + "?token=" + querySecret},
		{Name: "gone", Webhook: gone.URL + "/hooks/" + pathSecret + "?token=" + querySecret},
	}
	for _, srv := range []*webhooktest.Server{failing, gone} {
		srv.EchoURL()
	}
	// The handler writes under a lock of its own; the log is read once
	// the dispatcher has stopped.
	var logs bytes.Buffer
	r := newRig(t, contacts, notifier.DispatcherOptions{BackoffBase: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	r.enqueue(1, 1, "webhook:failing", "webhook:gone")
	eventually(t, 5*time.Second, "a few retries and the refusal", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return failing.Requests() >= 3 && len(r.reasons) == 1
	})
	r.stop()

	r.mu.Lock()
	texts := map[string]string{"log": logs.String(), "the report to the admins": strings.Join(r.reasons, "\n")}
	r.mu.Unlock()
	for id := int64(1); id <= 2; id++ {
		it, err := r.db.Item(context.Background(), id)
		if err != nil || it.LastError == "" {
			t.Fatalf("item %d: last error %q, %v", id, it.LastError, err)
		}
		texts[fmt.Sprintf("last_error of %s", it.Destination)] = it.LastError
	}
	for where, text := range texts {
		for _, secret := range []string{pathSecret, querySecret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the secret %q:\n%s", where, secret, text)
			}
		}
		// The page was echoed and is there, without the URL.
		if !strings.Contains(text, "[redacted] failed") {
			t.Errorf("%s lacks the error page:\n%s", where, text)
		}
	}
}
