package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

func runReport(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("report", stderr)
	since := fs.String("since", "30d", "the period: 30d, 24h back from now, or a month, 2026-11")
	merchant := fs.String("merchant", "", "only this merchant's checks")
	format := fs.String("format", "text", "text, csv or json")
	bom := fs.Bool("bom", false, "start the CSV with a UTF-8 byte-order mark, for Excel (always with defaults.language: ko)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostwatch report: unexpected %q; flags come before nothing else\n", fs.Arg(0))
		return exitError(2)
	}
	if *format != "text" && *format != "csv" && *format != "json" {
		fmt.Fprintf(stderr, "hostwatch report: -format must be text, csv or json, not %q\n", *format)
		return exitError(2)
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true, Uses: []string{"storage.dsn"}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	var merchants []string
	if *merchant != "" {
		if !hasMerchant(cfg, *merchant) {
			fmt.Fprintf(stderr, "hostwatch report: no merchant is named %q in %s\n", *merchant, *path)
			return exitError(2)
		}
		merchants = []string{*merchant}
	}
	ctx, cancel := signalContext()
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := reporter(cfg, st).Report(ctx, merchants, *since)
	if errors.Is(err, report.ErrPeriod) {
		fmt.Fprintf(stderr, "hostwatch report: -since %v\n", err)
		return exitError(2)
	}
	if err != nil {
		return err
	}
	tmpl, err := locale.Load(cfg.Templates, cfg.Location)
	if err != nil {
		return err
	}
	lang, _ := locale.Parse(cfg.Defaults.Language)
	words := report.Words{Templates: tmpl, Lang: lang.Or(locale.English), Names: cfg.Names()}
	switch *format {
	case "csv":
		return words.CSV(stdout, r, *bom)
	case "json":
		return r.JSON(stdout, cfg.Location)
	}
	return words.Text(stdout, r)
}

// reporter builds reports of cfg's checks from st.
func reporter(cfg *config.Config, st store.Store) *report.Reporter {
	return newReporter(cfg, st, incident.RulesFrom(cfg))
}

// newReporter is reporter for the daemon, which has read the rules already.
func newReporter(cfg *config.Config, st store.Store, rules incident.Rules) *report.Reporter {
	var checks, merchants []string
	for _, c := range cfg.Checks() {
		checks = append(checks, c.ID)
	}
	for _, m := range cfg.Merchants {
		merchants = append(merchants, m.Name)
	}
	return &report.Reporter{Source: st, Checks: checks, Merchants: merchants, Covers: rules.Covers, Location: cfg.Location}
}

func hasMerchant(cfg *config.Config, name string) bool {
	for _, m := range cfg.Merchants {
		if m.Name == name {
			return true
		}
	}
	return false
}
