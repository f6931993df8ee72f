// Command watchloop measures the watch loop of the real hostwatch binary: N
// HTTP checks on one schedule against a loopback target, for a while, and
// reports CPU per probe, peak RSS, how long after start every check had been
// probed once, and how late probes started (p50, p99). With -baseline it
// measures a bare net/http loop doing the same probes, the floor to compare
// with.
//
//	go run ./bench/watchloop -checks 1000 -every 1s -duration 30s
//
// The target runs in a process of its own so that its CPU is not counted.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	checks := flag.Int("checks", 1000, "how many HTTP checks")
	every := flag.Duration("every", time.Second, "the schedule of every check (whole seconds)")
	duration := flag.Duration("duration", 30*time.Second, "how long to measure, after every check was probed once")
	failing := flag.Float64("failing", 0, "the share of checks whose target answers 500 (0 to 1)")
	baseline := flag.Bool("baseline", false, "measure a bare net/http loop instead of hostwatch")
	pg := flag.String("postgres", "", "run hostwatch on a new database on this PostgreSQL server (a postgres:// URL) instead of SQLite")
	fresh := flag.Bool("fresh", false, "give every check fresh_connection: true, a new connection per probe")
	outage := flag.Bool("outage", false, "after the first round, fail every check at once (one provider's) and measure how soon incidents and messages follow")
	include := flag.Int("include", 0, "write the merchants into this many files under merchants/, included by the main file, instead of into the main file")
	validate := flag.Bool("validate", false, "only time `hostwatch validate` on the config, and its peak RSS")
	perCheck := flag.String("per-check", "auto", "serve the metrics labelled by check: true, false, or auto (up to 10,000 checks)")
	serve := flag.String("serve", "", "internal: serve the target on this address")
	loop := flag.String("loop", "", "internal: run the bare loop against this base URL")
	flag.Parse()

	switch {
	case *serve != "":
		serveTarget(*serve, *checks, *failing)
		return
	case *loop != "":
		bareLoop(*loop, *checks, *every)
		return
	}

	target := freeAddr()
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	srv := exec.Command(self, "-serve", target, "-checks", fmt.Sprint(*checks), "-failing", fmt.Sprint(*failing))
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Process.Kill()
	waitUp("http://" + target + "/stats")

	if *baseline {
		measureBaseline(self, target, *checks, *every, *duration)
		return
	}
	per := *perCheck == "true" || (*perCheck == "auto" && *checks <= 10_000)
	measureHostwatch(target, run{n: *checks, every: *every, duration: *duration, pg: *pg, outage: *outage,
		include: *include, validate: *validate, perCheck: per, fresh: *fresh})
}

// run is what to measure.
type run struct {
	n                int
	every, duration  time.Duration
	pg               string
	outage, validate bool
	include          int
	perCheck, fresh  bool
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUp(url string) {
	for range 200 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	log.Fatalf("%s never answered", url)
}

// serveTarget is the shops: a small page under /shop/N, 500 for the
// failing share of them. GET /stats tells when the first shop was asked
// for and when the last of them was first asked for (Unix nanoseconds, 0
// until then), whatever asks: hostwatch or the bare loop.
func serveTarget(addr string, n int, failing float64) {
	var down atomic.Int64
	down.Store(int64(math.Round(float64(n) * failing)))
	page := []byte("<html><body>your cart is empty</body></html>")
	seen := make([]atomic.Bool, n)
	var first, all, count atomic.Int64
	// POST /fail makes every shop fail from then on: the provider's outage.
	http.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { down.Store(int64(n)) })
	http.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d %d %d\n", first.Load(), all.Load(), count.Load())
	})
	http.HandleFunc("/shop/", func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/shop/"))
		if i >= 0 && i < n && !seen[i].Swap(true) {
			now := time.Now().UnixNano()
			first.CompareAndSwap(0, now)
			if count.Add(1) == int64(n) {
				all.Store(now)
			}
		}
		if int64(i) < down.Load() {
			http.Error(w, "internal server error", http.StatusInternalServerError)
			return
		}
		w.Write(page)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

// bareLoop is the floor: one shared client, one goroutine and ticker per
// check, each probe a GET whose body is read and dropped.
func bareLoop(base string, n int, every time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}}
	var probes atomic.Int64
	for i := range n {
		go func() {
			time.Sleep(every * time.Duration(i) / time.Duration(n))
			t := time.NewTicker(every)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/shop/%d", base, i), nil)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				cancel()
				probes.Add(1)
				<-t.C
			}
		}()
	}
	// Report the probe count on demand: a line on stdin, an answer on stdout.
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(probes.Load())
	}
}

// targetStats asks the target when it was first asked for a shop and
// when every shop had been asked for once; zero times until then.
func targetStats(target string) (first, all time.Time, seen int) {
	resp, err := http.Get("http://" + target + "/stats")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var f, a int64
	fmt.Fscan(resp.Body, &f, &a, &seen)
	if f > 0 {
		first = time.Unix(0, f)
	}
	if a > 0 {
		all = time.Unix(0, a)
	}
	return first, all, seen
}

// firstRound waits until every shop was asked for once, and says when the
// first and the last were, from start.
func firstRound(target string, n int, start time.Time, every time.Duration) (first, all time.Duration) {
	for {
		f, a, seen := targetStats(target)
		if !a.IsZero() {
			return f.Sub(start), a.Sub(start)
		}
		if time.Since(start) > 10*every+time.Minute {
			log.Fatalf("only %d of %d checks probed after %v", seen, n, time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func measureBaseline(self, target string, n int, every, duration time.Duration) {
	cmd := exec.Command(self, "-loop", "http://"+target, "-checks", fmt.Sprint(n), "-every", every.String())
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	count := func() int64 {
		fmt.Fprintln(in)
		lines.Scan()
		v, _ := strconv.ParseInt(lines.Text(), 10, 64)
		return v
	}
	first, all := firstRound(target, n, start, every)
	rssRound := rss(cmd.Process.Pid)
	p0, c0 := count(), cpuTime(cmd.Process.Pid)
	time.Sleep(duration)
	p1, c1 := count(), cpuTime(cmd.Process.Pid)
	probes := p1 - p0
	fmt.Printf("bare net/http loop: %d checks every %v for %v\n", n, every, duration)
	fmt.Printf("  first probe        %v after start\n", first.Round(time.Millisecond))
	fmt.Printf("  every check probed %v after start\n", all.Round(time.Millisecond))
	fmt.Printf("  probes             %d (%.0f/s)\n", probes, float64(probes)/duration.Seconds())
	fmt.Printf("  CPU                %v (%.1f%% of one core)\n", (c1 - c0).Round(time.Millisecond), 100*(c1-c0).Seconds()/duration.Seconds())
	fmt.Printf("  CPU per probe      %v\n", ((c1 - c0) / time.Duration(max(probes, 1))).Round(time.Microsecond/10))
	fmt.Printf("  peak RSS           %.1f MB\n", peakRSS(cmd.Process.Pid))
	fmt.Printf("  RSS after round 1  %.1f MB; at the end %.1f MB\n", rssRound, rss(cmd.Process.Pid))
}

// writeConfig writes the run's configuration: n merchants with one HTTP
// check each, in the main file or spread over r.include files under
// merchants/. It returns the main file's path.
func writeConfig(dir, target, listen string, db *record, r run) string {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "timezone: UTC\nstorage: %s\nhttp: {listen: %q, metrics: {per_check: %v}}\n", db.storage, listen, r.perCheck)
	fmt.Fprintf(&cfg, "defaults: {schedule: \"@every %s\", timeout: 5s, down_after: 3, up_after: 2, group_wait: 0s}\n", r.every)
	// One provider hosts every shop: an outage of all of them is its.
	cfg.WriteString("providers:\n  - {name: examplehost, match: {provider: examplehost}, outage_when: {down_ratio: 0.5, min_down: 3}}\n")
	fresh := "" // written only when asked for: an older binary can be measured too
	if r.fresh {
		fresh = ", fresh_connection: true"
	}
	merchant := func(b *strings.Builder, i int) {
		fmt.Fprintf(b, "  - name: shop%06d\n    checks:\n      - name: web\n        http: {url: \"http://%s/shop/%d\", contains: cart%s}\n        labels: {provider: examplehost}\n", i, target, i, fresh)
	}
	if r.include > 0 {
		cfg.WriteString("include: [\"merchants/*.yaml\"]\n")
		if err := os.Mkdir(filepath.Join(dir, "merchants"), 0o755); err != nil {
			log.Fatal(err)
		}
		per := (r.n + r.include - 1) / r.include
		for f := range r.include {
			var b strings.Builder
			b.WriteString("merchants:\n")
			for i := f * per; i < min((f+1)*per, r.n); i++ {
				merchant(&b, i)
			}
			if err := os.WriteFile(filepath.Join(dir, "merchants", fmt.Sprintf("batch%04d.yaml", f)), []byte(b.String()), 0o600); err != nil {
				log.Fatal(err)
			}
		}
	} else {
		cfg.WriteString("merchants:\n")
		for i := range r.n {
			merchant(&cfg, i)
		}
	}
	path := filepath.Join(dir, "hostwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		log.Fatal(err)
	}
	return path
}

func measureHostwatch(target string, r run) {
	dir, err := os.MkdirTemp("", "watchloop")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "hostwatch")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hostwatch")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		log.Fatal("build hostwatch (run from the repository root): ", err)
	}
	listen := freeAddr()
	db := newRecord(dir, r.pg)
	defer db.drop()
	cfgPath := writeConfig(dir, target, listen, db, r)
	files := "one file"
	if r.include > 0 {
		files = fmt.Sprintf("%d included files", r.include)
	}
	if r.validate {
		v := exec.Command(bin, "validate", "-config", cfgPath)
		v.Stdout, v.Stderr = io.Discard, os.Stderr
		start := time.Now()
		if err := v.Run(); err != nil {
			log.Fatal("validate: ", err)
		}
		fmt.Printf("hostwatch validate: %d checks in %s\n", r.n, files)
		fmt.Printf("  took               %v\n", time.Since(start).Round(time.Millisecond))
		fmt.Printf("  peak RSS           %.1f MB\n", float64(v.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024)
		return
	}

	cmd := exec.Command(bin, "run", "-config", cfgPath, "-log-level", "warn")
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer cmd.Process.Kill()
	metrics := "http://" + listen + "/metrics"

	first, all := firstRound(target, r.n, start, r.every)
	rssRound := rss(cmd.Process.Pid)
	if r.outage {
		measureOutage(db, target, r.n, r.every)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		return
	}
	// The window starts once the first round's results are in.
	time.Sleep(time.Second)
	m0, c0, s0 := mustScrape(metrics), cpuTime(cmd.Process.Pid), db.serverCPU()
	time.Sleep(r.duration)
	m1, c1, s1 := mustScrape(metrics), cpuTime(cmd.Process.Pid), db.serverCPU()
	peak, end := peakRSS(cmd.Process.Pid), rss(cmd.Process.Pid)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()

	probes := m1.probes - m0.probes
	fmt.Printf("hostwatch on %s: %d HTTP checks every %v in %s for %v\n", db.driver, r.n, r.every, files, r.duration)
	fmt.Printf("  first probe        %v after start\n", first.Round(time.Millisecond))
	fmt.Printf("  every check probed %v after start\n", all.Round(time.Millisecond))
	fmt.Printf("  probes             %d (%.0f/s), %d failed\n", probes, float64(probes)/r.duration.Seconds(), m1.failed-m0.failed)
	fmt.Printf("  skipped            %d\n", m1.skipped-m0.skipped)
	fmt.Printf("  CPU                %v (%.1f%% of one core)\n", (c1 - c0).Round(time.Millisecond), 100*(c1-c0).Seconds()/r.duration.Seconds())
	fmt.Printf("  CPU per probe      %v\n", ((c1 - c0) / time.Duration(max(probes, 1))).Round(time.Microsecond/10))
	if r.pg != "" {
		fmt.Printf("  PostgreSQL's CPU   %v, %v per probe; with hostwatch's, %v per probe\n", (s1 - s0).Round(time.Millisecond),
			((s1 - s0) / time.Duration(max(probes, 1))).Round(time.Microsecond/10),
			((c1 - c0 + s1 - s0) / time.Duration(max(probes, 1))).Round(time.Microsecond/10))
	}
	fmt.Printf("  peak RSS           %.1f MB\n", peak)
	fmt.Printf("  RSS after round 1  %.1f MB; at the end %.1f MB\n", rssRound, end)
	fmt.Printf("  lateness p50       %v\n", m1.lateP50.Round(time.Microsecond))
	fmt.Printf("  lateness p99       %v\n", m1.lateP99.Round(time.Microsecond))
}

type sample struct {
	probes, failed, skipped int64
	lateP50, lateP99        time.Duration
}

func mustScrape(url string) sample {
	s, err := scrape(url)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

// scrape reads the few series the benchmark needs from /metrics.
func scrape(url string) (sample, error) {
	var s sample
	resp, err := http.Get(url)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch {
		case strings.HasPrefix(name, "hostwatch_probes_total{"):
			s.probes += int64(v)
			if strings.Contains(name, `result="fail"`) {
				s.failed += int64(v)
			}
		case strings.HasPrefix(name, "hostwatch_scheduler_skipped_total{"):
			s.skipped += int64(v)
		case name == `hostwatch_scheduler_lateness_seconds{quantile="0.5"}`:
			s.lateP50 = time.Duration(v * float64(time.Second))
		case name == `hostwatch_scheduler_lateness_seconds{quantile="0.99"}`:
			s.lateP99 = time.Duration(v * float64(time.Second))
		}
	}
	return s, sc.Err()
}

var clockTick = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || v <= 0 {
		return 100
	}
	return v
})

// cpuTime is a process's user plus system CPU time so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return time.Duration((utime + stime) / clockTick() * float64(time.Second))
}

// peakRSS is a process's high-water resident set, in MB.
func peakRSS(pid int) float64 { return status(pid, "VmHWM:") }

// rss is a process's resident set now, in MB.
func rss(pid int) float64 { return status(pid, "VmRSS:") }

// status reads a size in kB from /proc/PID/status, in MB.
func status(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
