package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
)

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("check", stderr)
	parallel := fs.Int("parallel", 64, "how many probes run at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(2)
	}
	selected, err := selectChecks(cfg, fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "hostwatch check:", err)
		return exitError(2)
	}
	ctx, cancel := signalContext()
	defer cancel()
	env := checks.NewEnv(checks.EnvOptions{UserAgent: "hostwatch/" + versionString()})
	defer env.Close()
	results, err := monitor.ProbeOnce(ctx, env, selected, *parallel)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tLATENCY\tERROR")
	down := 0
	for i, c := range selected {
		r := results[i]
		verdict, detail := "ok", r.Evidence
		if !r.OK {
			verdict, detail = "down", r.Error
			down++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, verdict, r.Latency.Round(time.Millisecond), strings.Join(strings.Fields(detail), " "))
	}
	tw.Flush()
	if down > 0 {
		fmt.Fprintf(stderr, "%d of %d checks down\n", down, len(selected))
		return exitError(1)
	}
	return nil
}

// selectChecks picks the checks named "merchant/check" or "merchant"; all
// when none is named.
func selectChecks(cfg *config.Config, names []string) ([]*config.Check, error) {
	all := cfg.Checks()
	if len(names) == 0 {
		return all, nil
	}
	var out []*config.Check
	for _, name := range names {
		n := len(out)
		for _, c := range all {
			if c.ID == name || strings.HasPrefix(c.ID, name+"/") {
				out = append(out, c)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("no check or merchant is named %q", name)
		}
	}
	return out, nil
}
