package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/ping"
	"github.com/hostwatch/hostwatch/store"
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
	// Heartbeats are not probed: how they stand, and their URLs, are in
	// the record.
	var beats []*config.Check
	for _, c := range selected {
		if c.Heartbeat != nil {
			beats = append(beats, c)
		}
	}
	var states map[string]store.CheckState
	var pings ping.Tokens
	if len(beats) > 0 {
		if cfg, err = config.LoadWith(*path, config.Options{Offline: true, Uses: []string{"storage.dsn"}}); err != nil {
			fmt.Fprintln(stderr, err)
			return exitError(2)
		}
		if states, pings, err = heartbeats(ctx, cfg, beats); err != nil {
			return err
		}
	}
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
		Name, Latency, Detail, URL string
		OK, Waiting                bool
	}
	var rows, urls []row
	down := 0
	now, base := time.Now(), ping.Base(cfg.HTTP.PublicURL, listenAddr(cfg.HTTP.Listen))
	for i, c := range selected {
		r := results[i]
		detail := r.Evidence
		if !r.OK {
			detail = r.Error
		}
		rw := row{Name: names.CheckWithID(c.ID), OK: r.OK, Latency: r.Latency.Round(time.Millisecond).String()}
		if c.Heartbeat != nil {
			var b map[string]any
			rw.OK, rw.Waiting, b = standing(c, states[c.ID], now)
			rw.Latency = "-"
			if detail, err = tmpl.Exec(lang, "check.heartbeat", b); err != nil {
				fmt.Fprintln(stderr, "hostwatch check:", err)
			}
			urls = append(urls, row{Name: rw.Name, URL: pings.URL(base, c.ID)})
		}
		if !rw.OK && !rw.Waiting {
			down++
		}
		rw.Detail = locale.OneLine(detail)
		rows = append(rows, rw)
	}
	table, err := tmpl.Exec(lang, "check.table", map[string]any{"Rows": rows})
	if err != nil {
		fmt.Fprintln(stderr, "hostwatch check:", err)
	}
	if len(urls) > 0 {
		list, err := tmpl.Exec(lang, "check.pings", map[string]any{"Rows": urls})
		if err != nil {
			fmt.Fprintln(stderr, "hostwatch check:", err)
		}
		table += "\n" + list
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

// heartbeats reads from the record how the heartbeat checks cs stand,
// and their tokens, made now for those that have none yet: the daemon
// finds and shows the same.
func heartbeats(ctx context.Context, cfg *config.Config, cs []*config.Check) (map[string]store.CheckState, ping.Tokens, error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	if err := st.Register(ctx, ids); err != nil {
		return nil, nil, err
	}
	// A token read from a variable not set here is the daemon's to
	// know: shown as its ${NAME}, and none made for it.
	unset := map[string]string{}
	for _, e := range cfg.Env {
		if !e.Set {
			unset[e.Key] = "${" + e.Name + "}"
		}
	}
	fromEnv := ping.Tokens{}
	for i, m := range cfg.Merchants {
		for j, c := range m.Checks {
			if name, ok := unset[fmt.Sprintf("merchants[%d].checks[%d].heartbeat.token", i, j)]; ok {
				fromEnv[m.Name+"/"+c.Name] = name
			}
		}
	}
	cs = slices.DeleteFunc(slices.Clone(cs), func(c *config.Check) bool { return fromEnv[c.ID] != "" })
	tokens, err := ping.Load(ctx, st, cs)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(tokens, fromEnv)
	states, err := st.CheckStates(ctx)
	return states, tokens, err
}

// standing is how heartbeat c stands at now by its saved state s, as a
// row of check: up while its last ping is in time, down once it is late
// or the job said it failed, waiting while it has never been pinged; and
// what the row says of it.
func standing(c *config.Check, s store.CheckState, now time.Time) (ok, waiting bool, said map[string]any) {
	var last, due time.Time
	if !s.Probed.IsZero() {
		due = c.Heartbeat.Due(s.Probed)
	}
	late := !due.IsZero() && now.After(due.Add(c.Heartbeat.Grace.Duration))
	switch s.State {
	case store.Up:
		last, ok = s.Probed, !late
	case store.Unknown:
		waiting = true
	}
	return ok, waiting, map[string]any{"Last": last, "Due": due, "Late": late, "Down": s.State == store.Down, "Since": s.Since}
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
