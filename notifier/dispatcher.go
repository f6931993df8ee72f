package notifier

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/store"
)

// Destination joins a platform and an address into the outbox's
// destination, "telegram:111".
func Destination(platform, address string) string {
	return platform + ":" + address
}

// SplitDestination is the inverse of Destination.
func SplitDestination(dest string) (platform, address string) {
	platform, address, _ = strings.Cut(dest, ":")
	return platform, address
}

// DispatcherOptions are what a Dispatcher needs.
type DispatcherOptions struct {
	Outbox    store.Outbox
	Notifiers map[string]Notifier // by platform
	Pacing    map[string]Pacing   // by platform; unlimited when missing
	// Language says what the reader at a destination speaks; English
	// when nil.
	Language func(dest string) locale.Lang
	// Undeliverable is told of each message given up on for good, to tell
	// the admins.
	Undeliverable func(ctx context.Context, item store.OutboxItem, err error)
	// DrainTimeout bounds how long Run goes on starting sends after its
	// context is done. Default 10s.
	DrainTimeout time.Duration
	// SendTimeout bounds one send, the wait for its answer included; a
	// send under way when the drain ends is awaited this long at most.
	// It backs up the notifiers' own request timeouts. Default 30s.
	SendTimeout time.Duration
	// BackoffBase and BackoffMax bound the wait between retries of a
	// failing destination: it doubles from the base, with jitter. Default
	// 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// Holder is this run's token, under which it claims destinations; a
	// random one by default. ClaimTTL is how long a claim runs unless
	// renewed (default 10s): a dead instance's destinations are taken
	// over after it, and one that cannot renew its claims stops sending
	// before it.
	Holder   string
	ClaimTTL time.Duration
	// Share says how many instances share each platform's overall limit
	// (Telegram's 30 a second): each paces itself to its part. Nil is one.
	Share    func() int
	Clock    clockwork.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// errOriginalLost is an edit of a message that was never delivered.
var errOriginalLost = errors.New("the message to edit was not delivered")

// Dispatcher delivers the outbox: one queue per destination, in the order
// the messages were written, each paced to its platform's limits, retried
// until delivered or refused for good. A slow or failing destination holds
// up only itself.
//
// Delivery is at least once: an item is marked sent right after the
// platform's answer. A process that dies between the two sends that one
// message again at the next start, so at most one duplicate per destination
// can follow a crash; the message's ID lets a receiver drop it. A stop is
// not a crash: a send under way when the drain ends is finished, not cut
// short, so that its outcome is recorded.
type Dispatcher struct {
	o       DispatcherOptions
	clock   clockwork.Clock
	log     *slog.Logger
	wake    chan struct{}
	global  map[string]*limiter
	results *prometheus.CounterVec
	pending prometheus.Gauge
	// inFlight counts the sends under way, for the log at the end of
	// the drain.
	inFlight atomic.Int64

	mu      sync.Mutex
	workers map[string]*worker
	// held are the destinations this instance claims, each until when
	// (on the real clock, a margin before the store's lease ends) it may
	// send to it.
	held map[string]time.Time
	// after is where the next page of pending messages starts.
	after int64
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(o DispatcherOptions) (*Dispatcher, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.Holder == "" {
		b := make([]byte, 8)
		crand.Read(b)
		o.Holder = hex.EncodeToString(b)
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 10 * time.Second
	}
	if o.Share == nil {
		o.Share = func() int { return 1 }
	}
	d := &Dispatcher{
		o: o, clock: o.Clock, log: o.Logger,
		wake:    make(chan struct{}, 1),
		global:  map[string]*limiter{},
		workers: map[string]*worker{},
		held:    map[string]time.Time{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostwatch_notifications_total",
			Help: "Delivery attempts by platform and result: sent, retry (will try again) or failed (given up).",
		}, []string{"platform", "result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hostwatch_outbox_pending", Help: "Messages waiting for delivery.",
		}),
	}
	for platform, p := range o.Pacing {
		if lim := newLimiter(p.Global); lim != nil {
			d.global[platform] = lim
		}
	}
	for _, c := range []prometheus.Collector{d.results, d.pending} {
		if err := o.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return d, nil
}

// Wake tells the dispatcher that the outbox has new messages.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then goes on starting sends for at most
// DrainTimeout with what is already queued, waits for the sends under way
// to be answered (each within SendTimeout), and returns; what is left
// stays in the outbox for the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	// A send, once started, is never cut short by the stop: a message the
	// receiver took but whose answer was not awaited would stay pending
	// and go out again at the next start. The end of the drain only stops
	// new sends.
	drainCtx := context.WithoutCancel(ctx)
	workCtx, stopWork := context.WithCancel(drainCtx)
	defer stopWork()
	var wg sync.WaitGroup
	stopping := make(chan struct{})
	poll := d.clock.NewTicker(time.Second)
	defer poll.Stop()
	for ctx.Err() == nil {
		more, err := d.load(ctx, workCtx, stopping, &wg)
		if err != nil && ctx.Err() == nil {
			d.log.Error("read outbox", "err", err)
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-poll.Chan():
		}
	}
	// What was written just before the end (the last probes' alerts) is
	// delivered in the drain too.
	for {
		more, err := d.load(drainCtx, workCtx, stopping, &wg)
		if err != nil || !more {
			break
		}
	}
	close(stopping)
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timeout := d.clock.After(d.o.DrainTimeout)
	renew := d.clock.NewTicker(time.Second)
	defer renew.Stop()
drain:
	for {
		select {
		case <-drained:
			break drain
		case <-renew.Chan():
			// The claims run while the drain does, and while the last
			// sends are answered: no other instance may send their
			// messages before their outcome is recorded.
			if _, _, err := d.claim(drainCtx); err != nil {
				d.log.Warn("renew the claims during the drain", "err", err)
			}
		case <-timeout:
			d.log.Warn("drain timeout: no new sends; the rest goes out at the next start, or from another instance",
				"pending", d.queued(), "in_flight", d.inFlight.Load())
			stopWork()
			timeout = nil
		}
	}
	// Another instance takes these destinations at once, not when the
	// claims run out.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := d.o.Outbox.Unclaim(uctx, d.o.Holder); err != nil {
		d.log.Warn("give up the destinations; they are taken over when the claims run out", "err", err)
	}
	return nil
}

// load claims the destinations with pending messages that no other
// instance holds, renews the claims it has, and hands their pending items
// to their workers, a page at a time, starting workers as needed. It
// reports whether there may be more to read.
func (d *Dispatcher) load(ctx, workCtx context.Context, stopping chan struct{}, wg *sync.WaitGroup) (bool, error) {
	const page = 1000
	claims, dests, err := d.claim(ctx)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	after := d.after
	d.mu.Unlock()
	items, err := d.o.Outbox.PendingTo(ctx, dests, after, page)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range items {
		d.after = max(d.after, it.ID)
		w, ok := d.workers[it.Destination]
		if !ok {
			w = d.newWorker(it.Destination)
			d.workers[it.Destination] = w
			for _, c := range claims {
				if c.Destination == it.Destination {
					w.resume(d.clock.Now(), c.LastSent)
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(workCtx, stopping)
			}()
		}
		if w.push(it) {
			d.pending.Inc()
		}
	}
	more := len(items) == page
	if !more {
		d.after = 0 // the next round reads from the start: an item written late under a lower ID is found
	}
	return more, nil
}

// claim takes and renews this instance's claims on destinations, and
// returns them.
func (d *Dispatcher) claim(ctx context.Context) ([]store.Claim, []string, error) {
	d.share()
	claims, err := d.o.Outbox.Claim(ctx, d.o.Holder, d.o.ClaimTTL, 100000)
	// A claim is used until a quarter of its time before it runs out, so
	// that a renewal late by a round trip never lets two instances send.
	until := time.Now().Add(d.o.ClaimTTL - d.o.ClaimTTL/4)
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	held := make(map[string]time.Time, len(claims))
	dests := make([]string, 0, len(claims))
	for _, c := range claims {
		held[c.Destination] = until
		dests = append(dests, c.Destination)
		if _, had := d.held[c.Destination]; !had {
			d.after = 0 // a destination new to this instance: all of its messages
			if w := d.workers[c.Destination]; w != nil {
				w.resume(d.clock.Now(), c.LastSent)
			}
		}
	}
	d.held = held
	return claims, dests, nil
}

// share paces each platform's overall limit to this instance's part of it.
func (d *Dispatcher) share() {
	n := max(d.o.Share(), 1)
	for _, lim := range d.global {
		lim.share(n)
	}
}

// holds reports whether this instance may send to dest now.
func (d *Dispatcher) holds(dest string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	until, ok := d.held[dest]
	return ok && time.Now().Before(until)
}

func (d *Dispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, w := range d.workers {
		n += w.len()
	}
	return n
}

func (d *Dispatcher) newWorker(dest string) *worker {
	platform, address := SplitDestination(dest)
	w := &worker{d: d, dest: dest, platform: platform, address: address, signal: make(chan struct{}, 1), seen: map[int64]bool{}}
	w.notifier = d.o.Notifiers[platform]
	if p, ok := d.o.Pacing[platform]; ok {
		w.global = d.global[platform]
		if p.PerDestination != nil {
			w.every = p.PerDestination(address).every()
		}
	}
	w.sent = d.results.WithLabelValues(platform, "sent")
	w.retried = d.results.WithLabelValues(platform, "retry")
	w.failed = d.results.WithLabelValues(platform, "failed")
	return w
}

// worker delivers one destination's messages, one at a time, in order.
type worker struct {
	d                 *Dispatcher
	dest              string
	platform, address string
	notifier          Notifier
	global            *limiter
	// every is the least time between two sends to this destination,
	// counted from the moment of the last one; last is that moment,
	// under mu.
	every                 time.Duration
	last                  time.Time
	sent, retried, failed prometheus.Counter

	mu    sync.Mutex
	queue []store.OutboxItem
	// seen are the items handed to this worker while its destination is
	// claimed: an item read again before its delivery is recorded is not
	// sent twice.
	seen   map[int64]bool
	signal chan struct{}
}

// push queues an item not queued before, and reports whether it did.
func (w *worker) push(it store.OutboxItem) bool {
	w.mu.Lock()
	if w.seen[it.ID] {
		w.mu.Unlock()
		return false
	}
	w.seen[it.ID] = true
	w.queue = append(w.queue, it)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
	return true
}

// resume starts the destination's pacing from its last send, by whichever
// instance: a claim taken over does not send sooner than its pace allows.
func (w *worker) resume(now, lastSent time.Time) {
	if lastSent.IsZero() || lastSent.After(now) || now.Sub(lastSent) > time.Minute {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if lastSent.After(w.last) {
		w.last = lastSent
	}
}

// drop empties the queue of a destination this instance no longer
// claims: its messages are left to the instance that does.
func (w *worker) drop() {
	w.mu.Lock()
	n := len(w.queue)
	w.queue, w.seen = nil, map[int64]bool{}
	w.mu.Unlock()
	w.d.pending.Sub(float64(n))
}

func (w *worker) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

func (w *worker) head() (store.OutboxItem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return store.OutboxItem{}, false
	}
	return w.queue[0], true
}

func (w *worker) pop() {
	w.mu.Lock()
	w.queue = w.queue[1:]
	w.mu.Unlock()
	w.d.pending.Dec()
}

func (w *worker) setHead(it store.OutboxItem) {
	w.mu.Lock()
	w.queue[0] = it
	w.mu.Unlock()
}

// run delivers until the queue is empty after stopping closed, or ctx
// ends; ctx stops new sends, never one under way.
func (w *worker) run(ctx context.Context, stopping <-chan struct{}) {
	clock := w.d.clock
	for ctx.Err() == nil {
		it, ok := w.head()
		if !ok {
			select {
			case <-w.signal:
				continue
			case <-stopping:
				return
			case <-ctx.Done():
				return
			}
		}
		if wait := it.NextAt.Sub(clock.Now()); wait > 0 {
			// A destination backing off does not hold up shutdown: its
			// message stays in the outbox for the next start.
			select {
			case <-clock.After(wait):
			case <-stopping:
				return
			case <-ctx.Done():
				return
			}
		}
		if err := w.pace(ctx); err != nil {
			return
		}
		if !w.d.holds(w.dest) {
			// The claim is gone (it could not be renewed, or another
			// instance took it): not one more message from here.
			w.d.log.Warn("destination no longer claimed; its messages are left to the instance that claims it",
				"destination", w.dest, "pending", w.len())
			w.drop()
			continue
		}
		w.attempt(context.WithoutCancel(ctx), it)
	}
}

// pace waits until the next send keeps both limits. The destination's is
// counted from its last actual send, not from a reservation: a wait for the
// platform's limit in between must not squeeze two sends to one chat
// together.
func (w *worker) pace(ctx context.Context) error {
	clock := w.d.clock
	w.mu.Lock()
	last := w.last
	w.mu.Unlock()
	if w.every > 0 && !last.IsZero() {
		if d := last.Add(w.every).Sub(clock.Now()); d > 0 {
			select {
			case <-clock.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if w.global != nil {
		// A time booked and not used at a stop stays booked: the limit
		// is kept all the same.
		if d := w.global.reserve(clock.Now()).Sub(clock.Now()); d > 0 {
			select {
			case <-clock.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	w.mu.Lock()
	w.last = clock.Now()
	w.mu.Unlock()
	return nil
}

// attempt delivers the head item once, within SendTimeout, and records
// the outcome. ctx is not cut short by a stop.
func (w *worker) attempt(ctx context.Context, it store.OutboxItem) {
	log := w.d.log.With("destination", w.dest, "message", it.ID, "incident", it.Incident)
	sctx, cancel := context.WithTimeout(ctx, w.d.o.SendTimeout)
	w.d.inFlight.Add(1)
	receipt, err := w.deliver(sctx, it)
	w.d.inFlight.Add(-1)
	cancel()
	now := w.d.clock.Now()
	it.Attempts++
	var retryAfter *RetryAfterError
	switch {
	case err == nil:
		w.sent.Inc()
		if !w.recordSent(ctx, log, it.ID, receipt, now) {
			// Not recorded, and no longer ours: it goes out once more
			// from the instance that claims the destination.
			w.drop()
			return
		}
		w.pop()
	case errors.Is(err, errOriginalLost):
		// The message to edit was never delivered, which was reported
		// then: the edit is dropped without a second report.
		log.Warn("edit dropped", "err", err)
		if merr := w.d.o.Outbox.MarkFailed(ctx, it.ID, it.Attempts, err.Error(), now); merr != nil {
			log.Error("record failed delivery", "err", merr)
		}
		w.pop()
	case IsPermanent(err):
		w.failed.Inc()
		log.Error("message undeliverable, given up", "attempts", it.Attempts, "err", err)
		if merr := w.d.o.Outbox.MarkFailed(ctx, it.ID, it.Attempts, err.Error(), now); merr != nil {
			log.Error("record failed delivery", "err", merr)
		}
		w.pop()
		if w.d.o.Undeliverable != nil {
			w.d.o.Undeliverable(ctx, it, err)
		}
	default:
		w.retried.Inc()
		wait := w.backoff(it.Attempts)
		if errors.As(err, &retryAfter) {
			wait = retryAfter.After
		}
		it.NextAt, it.LastError = now.Add(wait), err.Error()
		log.Warn("delivery failed; will retry", "attempts", it.Attempts, "in", wait, "err", err)
		if merr := w.d.o.Outbox.MarkRetry(ctx, it.ID, it.Attempts, it.NextAt, it.LastError); merr != nil {
			log.Error("record retry", "err", merr)
		}
		w.setHead(it)
	}
}

// recordSent records a delivery, trying again while the store refuses and
// the destination is still claimed: the next message waits, so that no more
// than this one can go out twice. It reports whether it recorded it.
func (w *worker) recordSent(ctx context.Context, log *slog.Logger, id int64, receipt string, at time.Time) bool {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := w.d.o.Outbox.MarkSent(ctx, id, receipt, at)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return true // recorded, now or by the instance that sent it again
		}
		log.Error("record delivery; will retry", "err", err)
		if !w.d.holds(w.dest) {
			return false
		}
		select {
		case <-w.d.clock.After(wait):
		case <-ctx.Done():
			return false
		}
	}
}

func (w *worker) deliver(ctx context.Context, it store.OutboxItem) (string, error) {
	if w.notifier == nil {
		return "", Permanent(fmt.Errorf("no notifier for platform %q", w.platform))
	}
	m, err := Decode(it.Payload)
	if err != nil {
		return "", Permanent(err)
	}
	m.ID, m.Lang = it.ID, locale.English
	if w.d.o.Language != nil {
		m.Lang = w.d.o.Language(w.dest)
	}
	if it.Op != "edit" {
		if it.Ref != 0 {
			if orig, err := w.d.o.Outbox.Item(ctx, it.Ref); err == nil && orig.State == store.Sent {
				m.ReplyTo = orig.Receipt
			}
		}
		return w.notifier.Send(ctx, w.address, m)
	}
	editor, ok := w.notifier.(Editor)
	if !ok {
		return "", Permanent(fmt.Errorf("%s messages cannot be edited", w.platform))
	}
	orig, err := w.d.o.Outbox.Item(ctx, it.Ref)
	if err != nil {
		return "", fmt.Errorf("find the message to edit: %w", err)
	}
	if orig.State != store.Sent {
		return "", fmt.Errorf("message %d: %w", it.Ref, errOriginalLost)
	}
	return orig.Receipt, editor.Edit(ctx, w.address, orig.Receipt, m)
}

// backoff is the wait before retry n: doubling from the base up to the
// maximum, with jitter so that failing destinations do not retry in step.
func (w *worker) backoff(n int) time.Duration {
	d := w.d.o.BackoffBase << min(n-1, 20)
	if d <= 0 || d > w.d.o.BackoffMax {
		d = w.d.o.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}
