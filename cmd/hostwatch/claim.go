package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/store"
)

func runClaim(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("claim", stderr)
	provider := fs.String("provider", "", "the provider that owes the credit (required)")
	merchant := fs.String("merchant", "", "the merchant whose checks were down (required)")
	month := fs.String("month", "", "the calendar month, 2026-11, in the configured timezone (required)")
	format := fs.String("format", "md", "md, json or html")
	lang := fs.String("lang", "", "en or ko; defaults.language when empty")
	outPath := fs.String("o", "", "write the claim to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		fmt.Fprintf(stderr, "hostwatch claim: "+format+"\n", args...)
		return exitError(2)
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected %q; flags come before nothing else", fs.Arg(0))
	case *provider == "" || *merchant == "" || *month == "":
		return usage("-provider, -merchant and -month are required: hostwatch claim -provider NAME -merchant NAME -month 2026-11")
	case *format != "md" && *format != "json" && *format != "html":
		return usage("-format must be md, json or html, not %q", *format)
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true, Uses: []string{"storage.dsn"}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	l, ok := locale.Parse(*lang)
	if *lang == "" {
		l, _ = locale.Parse(cfg.Defaults.Language)
	} else if !ok {
		return usage("-lang must be en or ko, not %q", *lang)
	}
	p := cfg.Provider(*provider)
	switch {
	case p == nil:
		return usage("no provider is named %q in %s", *provider, *path)
	case !hasMerchant(cfg, *merchant):
		return usage("no merchant is named %q in %s", *merchant, *path)
	case p.SLA == nil:
		fmt.Fprintf(stderr, "hostwatch claim: provider %s has no sla in %s: set its monthly_uptime and credits\n", p.Name, *path)
		return exitError(1)
	}
	if len(cfg.SLAChecks(p, *merchant)) == 0 {
		fmt.Fprintf(stderr, "hostwatch claim: %s has no check under the sla of %s in %s\n", *merchant, p.Name, *path)
		return exitError(1)
	}
	now := time.Now()
	if _, _, err := claim.Month(*month, now, cfg.Location); err != nil {
		return usage("-month %v", err)
	}
	ctx, cancel := signalContext()
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := computeClaim(ctx, cfg, st, p, *merchant, *month, now)
	if errors.Is(err, claim.ErrMonth) {
		return usage("-month %v", err)
	}
	if err != nil {
		return err
	}
	tmpl, err := locale.Load(cfg.Templates, cfg.Location)
	if err != nil {
		return err
	}
	words := claim.Words{Templates: tmpl, Lang: l.Or(locale.English), Names: cfg.Names()}
	var b bytes.Buffer
	switch *format {
	case "json":
		err = c.JSON(&b, cfg.Location)
	case "html":
		err = words.HTML(&b, c)
	default:
		err = words.Markdown(&b, c)
	}
	if err != nil {
		return err
	}
	if *outPath == "" {
		_, err = stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(*outPath, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the claim: %w", err)
	}
	return nil
}

// slaOf is p's SLA as it applies to merchant's checks.
func slaOf(cfg *config.Config, p *config.Provider, merchant string) claim.SLA {
	s, rules := p.SLA, incident.RulesFrom(cfg)
	out := claim.SLA{MonthlyUptime: s.MonthlyUptime, MonthlyFee: s.MonthlyFee, Currency: s.Currency, Measure: s.Measure,
		ExcludeMaintenance: s.ExcludesMaintenance(), Covers: rules.Covers, Where: cfg.Cluster.Location}
	if out.Where == "" {
		out.Where = cfg.Cluster.Instance
	}
	for _, t := range s.Credits {
		out.Credits = append(out.Credits, claim.Tier{Below: t.Below, Percent: t.Percent})
	}
	for _, ch := range cfg.SLAChecks(p, merchant) {
		out.Checks = append(out.Checks, claim.Check{ID: ch.ID, Schedule: ch.Schedule, Timeout: ch.Timeout.Duration})
	}
	return out
}

// computeClaim computes the claim of merchant against provider p for month,
// with the head of the record's chain.
func computeClaim(ctx context.Context, cfg *config.Config, st store.Store, p *config.Provider, merchant, month string, now time.Time) (*claim.Claim, error) {
	c, err := claim.Compute(ctx, st, claim.Request{Provider: p.Name, Merchant: merchant, Month: month}, slaOf(cfg, p, merchant), cfg.Location, now)
	if err != nil {
		return nil, err
	}
	if v, ok := st.(store.Verifier); ok {
		// The head, kept in the claim, is a copy of it outside the
		// database: a record rewritten after the claim would not end in it.
		seq, hash, at, err := v.ChainHead(ctx)
		if err != nil {
			return nil, err
		}
		if hash != "" {
			c.ChainHead = fmt.Sprintf("%s (entry %d, %s)", hash, seq, at.UTC().Format(time.RFC3339))
		}
	}
	return c, nil
}

// claims computes the claims of month for merchants (all when nil)
// against provider (every one with an sla when empty): one for each
// provider and merchant with a check under its sla, as /claim answers.
func claims(ctx context.Context, cfg *config.Config, st store.Store, merchants []string, provider, month string) ([]*claim.Claim, error) {
	now := time.Now()
	if _, _, err := claim.Month(month, now, cfg.Location); err != nil {
		return nil, err
	}
	var out []*claim.Claim
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if p.SLA == nil || (provider != "" && p.Name != provider) {
			continue
		}
		for _, m := range cfg.Merchants {
			if (merchants != nil && !slices.Contains(merchants, m.Name)) || len(cfg.SLAChecks(p, m.Name)) == 0 {
				continue
			}
			c, err := computeClaim(ctx, cfg, st, p, m.Name, month, now)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}
