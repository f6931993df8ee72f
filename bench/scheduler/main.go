// Command scheduler measures what it costs only to schedule checks: N
// checks whose probe does nothing, every second, for a while, run by
// hostwatch's monitor and by robfig/cron's own runner, each in its own
// process, with the CPU time per run of each.
//
//	go run ./bench/scheduler -checks 1000 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
)

type noop struct{ runs *atomic.Int64 }

func (n noop) Check(context.Context) checks.Result {
	n.runs.Add(1)
	return checks.Result{OK: true}
}

type discard struct{}

func (discard) Observe(monitor.Observation) {}

// offset spreads robfig/cron entries the way hostwatch spreads checks, so
// both runners fire one check at a time.
type offset struct {
	cron.Schedule
	by time.Duration
}

func (o offset) Next(t time.Time) time.Time { return o.Schedule.Next(t.Add(-o.by)).Add(o.by) }

func main() {
	n := flag.Int("checks", 1000, "how many checks, every second")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	runner := flag.String("runner", "", "internal: hostwatch or robfig")
	flag.Parse()
	if *runner == "" {
		self, _ := os.Executable()
		for _, r := range []string{"hostwatch", "robfig"} {
			cmd := exec.Command(self, "-runner", r, "-checks", fmt.Sprint(*n), "-duration", duration.String())
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				log.Fatal(err)
			}
		}
		return
	}

	var runs atomic.Int64
	every, _ := config.CronParser.Parse("@every 1s")
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	before := cpu()
	switch *runner {
	case "hostwatch":
		var cs []*config.Check
		for i := range *n {
			cs = append(cs, &config.Check{ID: fmt.Sprintf("shop%05d/web", i), Schedule: "@every 1s", Cron: every,
				Timeout: config.Duration{Duration: time.Second}, DownAfter: 1, UpAfter: 1, TCP: &config.TCPCheck{}})
		}
		m, err := monitor.New(monitor.Options{Checks: cs, Sink: discard{},
			Build: func(*config.Check) (checks.Checker, error) { return noop{&runs}, nil }})
		if err != nil {
			log.Fatal(err)
		}
		m.Run(ctx)
	case "robfig":
		c := cron.New()
		for i := range *n {
			c.Schedule(offset{every, time.Second * time.Duration(i) / time.Duration(*n)}, cron.FuncJob(func() {
				noop{&runs}.Check(ctx)
			}))
		}
		c.Start()
		<-ctx.Done()
		<-c.Stop().Done()
	}
	used := cpu() - before
	fmt.Printf("%-9s runner: %d checks every 1s for %v: %d runs, CPU %v, %v per run\n",
		*runner, *n, *duration, runs.Load(), used.Round(time.Millisecond), (used / time.Duration(max(runs.Load(), 1))).Round(100*time.Nanosecond))
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
