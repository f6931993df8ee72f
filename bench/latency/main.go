// Command latency measures how long the real hostwatch binary takes from
// the probe that confirms an outage to the chat message about it: N shops,
// one HTTP check each every second (down_after 3, group_wait 0s), each
// merchant with a Telegram chat of its own, against a fake Bot API that
// enforces Telegram's limits. It takes shops down one at a time at random
// moments, a few a second, while the rest stay up, brings each back once
// its alert arrived, and reports p50, p99 and max of the time from the
// target's answer to the confirming probe to the fake's acceptance of the
// alert.
//
//	go run ./bench/latency -checks 1000
//
// The target and the fake run in this process, so that both ends are read
// on one clock.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

const (
	token     = "424242:latency"
	downAfter = 3
	upAfter   = 2
	// chatBase is the first shop's chat id: shop i has chatBase+i.
	chatBase = 1_000_000
)

func main() {
	n := flag.Int("checks", 1000, "how many shops, one HTTP check each, every second")
	samples := flag.Int("samples", 200, "how many outages to measure")
	rate := flag.Float64("rate", 3, "outages begun per second, on average")
	flag.Parse()
	if *n < 1 || *samples < 1 || *rate <= 0 {
		log.Fatal("-checks and -samples must be at least 1, -rate above 0")
	}

	shops := newTarget(*n)
	target := &http.Server{Handler: shops}
	tl := listen()
	go target.Serve(tl)
	defer target.Close()
	api := telegramtest.New(token)
	defer api.Close()
	api.EnforceLimits()

	dir, err := os.MkdirTemp("", "latency")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := startHostwatch(dir, "http://"+tl.Addr().String(), api.Endpoint(), *n)
	defer cmd.Process.Kill()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()

	// Every shop probed once, and a round more, before the first outage:
	// the start's burst of first probes is not what is measured.
	deadline := time.Now().Add(time.Minute)
	for shops.probed() < *n {
		select {
		case <-exited:
			log.Fatal("hostwatch stopped: ", cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log.Fatalf("only %d of %d shops probed after a minute", shops.probed(), *n)
		}
	}
	time.Sleep(time.Second)

	r := &run{shops: shops, api: api, idle: make(chan int, *n)}
	for i := range *n {
		r.idle <- i
	}
	var wg sync.WaitGroup
	begun := time.Now()
	for range *samples {
		shop := <-r.idle
		wg.Go(func() { r.outage(shop) })
		// Uniform gaps around the mean: spaced, at random moments
		// against the probes' schedules.
		time.Sleep(time.Duration((0.5 + rand.Float64()) / *rate * float64(time.Second)))
	}
	wg.Wait()
	took := time.Since(begun)
	cmd.Process.Signal(os.Interrupt)
	<-exited

	lat := r.latencies()
	fmt.Printf("hostwatch: %d shops every 1s (down_after %d, group_wait 0s), %d outages in %v, one at a time at %.1f a second\n",
		*n, downAfter, *samples, took.Round(time.Second), *rate)
	fmt.Printf("  from the target's answer to the confirming probe to the Bot API's acceptance of the alert\n")
	fmt.Printf("  samples            %d (%d without an alert within 30s)\n", len(lat), r.missed.Load())
	if len(lat) > 0 {
		fmt.Printf("  p50                %v\n", quantile(lat, 0.50).Round(time.Microsecond*100))
		fmt.Printf("  p99                %v\n", quantile(lat, 0.99).Round(time.Microsecond*100))
		fmt.Printf("  max                %v\n", lat[len(lat)-1].Round(time.Microsecond*100))
	}
	fmt.Printf("  429s from the Bot API %d\n", api.Limited())
	opened, queued, sent, err := r.stages(filepath.Join(dir, "hostwatch.db"))
	if err != nil {
		log.Fatal("read the record: ", err)
	}
	if len(opened) > 0 {
		fmt.Printf("  by stage, from the record (ms)   p50  p99  max\n")
		for _, st := range []struct {
			name string
			d    []time.Duration
		}{{"incident opened", opened}, {"alert queued", queued}, {"alert taken", sent}} {
			fmt.Printf("    %-30s %4d %4d %4d\n", st.name, quantile(st.d, 0.5).Milliseconds(), quantile(st.d, 0.99).Milliseconds(), st.d[len(st.d)-1].Milliseconds())
		}
	}
}

func listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func freeAddr() string {
	l := listen()
	defer l.Close()
	return l.Addr().String()
}

// startHostwatch builds the binary, writes a configuration of n merchants,
// each with one check and a Telegram chat of its own, and starts it.
func startHostwatch(dir, target, endpoint string, n int) *exec.Cmd {
	bin := filepath.Join(dir, "hostwatch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hostwatch")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		log.Fatal("build hostwatch (run from the repository root): ", err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "timezone: UTC\nstorage: {dsn: %q}\nhttp: {listen: %q}\n", filepath.Join(dir, "hostwatch.db"), freeAddr())
	// Flapping is off: with few shops, one goes down again and again.
	fmt.Fprintf(&cfg, "defaults: {schedule: \"@every 1s\", timeout: 5s, down_after: %d, up_after: %d, group_wait: 0s, flapping: {changes: 0}}\n",
		downAfter, upAfter)
	fmt.Fprintf(&cfg, "telegram: {token: \"${LATENCY_TG_TOKEN}\", api_endpoint: %q}\ncontacts:\n", endpoint)
	for i := range n {
		fmt.Fprintf(&cfg, "  - {name: c%05d, telegram: %d}\n", i, chatBase+i)
	}
	cfg.WriteString("merchants:\n")
	for i := range n {
		fmt.Fprintf(&cfg, "  - name: shop%05d\n    contacts: [c%05d]\n    checks:\n      - {name: web, http: {url: \"%s/shop/%d\", contains: cart}}\n",
			i, i, target, i)
	}
	path := filepath.Join(dir, "hostwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", path, "-log-level", "warn")
	cmd.Env = append(os.Environ(), "LATENCY_TG_TOKEN="+token)
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return cmd
}

// target is the shops: a small page under /shop/N, 500 while the shop is
// down. It notes when it answered each outage's confirming probe: the
// down_after-th failure in a row.
type target struct {
	page  []byte
	shops []shop
	seen  atomic.Int64
}

type shop struct {
	mu      sync.Mutex
	probed  bool
	down    bool
	streak  int
	confirm chan time.Time // the current outage's; nil while up
}

func newTarget(n int) *target {
	return &target{page: []byte("<html><body>your cart is empty</body></html>"), shops: make([]shop, n)}
}

func (t *target) probed() int { return int(t.seen.Load()) }

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/shop/"))
	if err != nil || i < 0 || i >= len(t.shops) {
		http.NotFound(w, r)
		return
	}
	s := &t.shops[i]
	s.mu.Lock()
	if !s.probed {
		s.probed = true
		t.seen.Add(1)
	}
	if !s.down {
		s.streak = 0
		s.mu.Unlock()
		w.Write(t.page)
		return
	}
	s.streak++
	if s.streak == downAfter {
		s.confirm <- time.Now()
	}
	s.mu.Unlock()
	http.Error(w, "internal server error", http.StatusInternalServerError)
}

// setDown takes shop i down, returning where the confirming probe's time
// will come, or brings it back up.
func (t *target) setDown(i int, down bool) <-chan time.Time {
	s := &t.shops[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down, s.streak = down, 0
	if !down {
		s.confirm = nil
		return nil
	}
	s.confirm = make(chan time.Time, 1)
	return s.confirm
}

// run takes shops down and collects what each outage took.
type run struct {
	shops *target
	api   *telegramtest.Server
	// idle are the shops that may go down: up, their last messages
	// delivered, and their chat's pace (one a second) past.
	idle   chan int
	missed atomic.Int64

	mu      sync.Mutex
	samples []sample
}

// sample is one outage: when the target answered its confirming probe,
// when the Bot API took its alert, and which of its chat's messages the
// alert was (from 0).
type sample struct {
	chat               int64
	nth                int
	confirmed, alerted time.Time
}

// outage takes one shop down, waits for its alert, brings it back, and
// waits for the recovery's message before the shop may go down again.
func (r *run) outage(i int) {
	chat := int64(chatBase + i)
	before := len(r.api.Messages(chat))
	var confirmed time.Time
	select {
	case confirmed = <-r.shops.setDown(i, true):
	case <-time.After(30 * time.Second):
		log.Fatalf("shop %d: no confirming probe within 30s", i)
	}
	alert, ok := r.waitMessage(chat, before+1)
	if !ok || alert.At.Before(confirmed) {
		r.missed.Add(1)
		log.Printf("shop %d: no alert after its confirming probe at %s", i, confirmed.Format(time.StampMicro))
	} else {
		r.mu.Lock()
		r.samples = append(r.samples, sample{chat: chat, nth: before, confirmed: confirmed, alerted: alert.At})
		r.mu.Unlock()
	}
	r.shops.setDown(i, false)
	// The recovery's message, and the edit of the alert before it.
	if _, ok := r.waitMessage(chat, before+2); !ok {
		log.Printf("shop %d: no recovery message", i)
		return // not reused: its chat's messages would be miscounted
	}
	time.Sleep(1500 * time.Millisecond)
	r.idle <- i
}

// waitMessage waits, 30 s at most, for chat to have n messages, and
// returns the nth.
func (r *run) waitMessage(chat int64, n int) (telegramtest.Message, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ms := r.api.Messages(chat); len(ms) >= n {
			return ms[n-1], true
		}
		// The fake notes when it took the message: how often this looks
		// changes nothing measured.
		time.Sleep(20 * time.Millisecond)
	}
	return telegramtest.Message{}, false
}

// latencies are the samples' times from the confirming probe to the
// alert, sorted.
func (r *run) latencies() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, s := range r.samples {
		out = append(out, s.alerted.Sub(s.confirmed))
	}
	slices.Sort(out)
	return out
}

// stages splits each sample's time by what the record says (to the
// millisecond): until the incident was opened (the writer's transaction
// began), until its alert was queued (the decider's pass began), and until
// the Bot API took it.
func (r *run) stages(path string) (opened, queued, sent []time.Duration, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, nil, nil, err
	}
	defer db.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.samples {
		var openedAt, queuedAt int64
		err := db.QueryRow(`SELECT e.at, o.created_at FROM outbox o
			JOIN incident_events e ON e.incident_id = o.incident_id AND e.kind = 'opened'
			WHERE o.destination = ? AND o.op = 'send' ORDER BY o.id LIMIT 1 OFFSET ?`,
			fmt.Sprintf("telegram:%d", s.chat), s.nth).Scan(&openedAt, &queuedAt)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("chat %d: %w", s.chat, err)
		}
		o, q := time.UnixMilli(openedAt), time.UnixMilli(queuedAt)
		opened = append(opened, o.Sub(s.confirmed.Truncate(time.Millisecond)))
		queued = append(queued, q.Sub(o))
		sent = append(sent, s.alerted.Truncate(time.Millisecond).Sub(q))
	}
	for _, d := range [][]time.Duration{opened, queued, sent} {
		slices.Sort(d)
	}
	return opened, queued, sent, nil
}

// quantile is the q-quantile of sorted, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	k := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}
