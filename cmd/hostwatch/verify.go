package main

import (
	"fmt"
	"io"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/store"
)

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("verify", stderr)
	from := fs.String("from", "", "start at the first entry at or after this day (2026-11-01), checking its link to the one before")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostwatch verify: unexpected %q; flags come before nothing else\n", fs.Arg(0))
		return exitError(2)
	}
	var since time.Time
	if *from != "" {
		t, err := time.Parse(time.DateOnly, *from)
		if err != nil {
			fmt.Fprintf(stderr, "hostwatch verify: -from must be a day, 2026-11-01, not %q\n", *from)
			return exitError(2)
		}
		since = t
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true, Uses: []string{"storage.dsn"}})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	ctx, cancel := signalContext()
	defer cancel()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	v, ok := st.(store.Verifier)
	if !ok {
		return fmt.Errorf("storage driver %q keeps no chain", cfg.Storage.Driver)
	}
	got, bad, err := v.VerifyChain(ctx, since)
	if err != nil {
		return err
	}
	if bad != nil {
		fmt.Fprintf(stdout, "verified %d entries; the next does not match:\n%v\n", got.Entries, bad)
		return exitError(1)
	}
	if got.Entries == 0 {
		fmt.Fprintln(stdout, "verified 0 entries: the chain is empty")
		return nil
	}
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(stdout, "verified %d entries from %s (entry %d) to %s (entry %d); head %s\n",
		got.Entries, stamp(got.First.At), got.First.Seq, stamp(got.Last.At), got.Last.Seq, got.Last.Hash)
	return nil
}
