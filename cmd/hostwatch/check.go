package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
)

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("check", stderr)
	parallel := fs.Int("parallel", 64, "how many probes run at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true})
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
	tmpl, err := locale.Load(cfg.Templates, cfg.Location)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(2)
	}
	lang, _ := locale.Parse(cfg.Defaults.Language)
	names := cfg.Names()
	type row struct {
		Name, Latency, Detail string
		OK                    bool
	}
	var rows []row
	down := 0
	for i, c := range selected {
		r := results[i]
		detail := r.Evidence
		if !r.OK {
			detail = r.Error
			down++
		}
		rows = append(rows, row{Name: names.CheckWithID(c.ID), OK: r.OK, Latency: r.Latency.Round(time.Millisecond).String(),
			Detail: locale.OneLine(detail)})
	}
	table, err := tmpl.Exec(lang, "check.table", map[string]any{"Rows": rows})
	if err != nil {
		fmt.Fprintln(stderr, "hostwatch check:", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	io.WriteString(tw, table)
	tw.Flush()
	if down > 0 {
		summary, _ := tmpl.Exec(lang, "check.summary", map[string]any{"Down": down, "Of": len(selected)})
		fmt.Fprintln(stderr, summary)
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
