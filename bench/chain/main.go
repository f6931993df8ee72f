// Command chain measures hostwatch verify on a year of 1,000 checks'
// failures: it writes the record through the store's API, in big
// transactions, then times VerifyChain.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

func main() {
	checks := flag.Int("checks", 1000, "how many checks")
	outages := flag.Int("outages", 40, "outages of each check over the year")
	failures := flag.Int("failures", 5, "failed probes of each outage")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "chainbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "h.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	names := make([]string, *checks)
	for i := range names {
		names[i] = fmt.Sprintf("shop%05d/web", i)
	}
	if err := db.Register(ctx, names); err != nil {
		log.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gap := 365 * 24 * time.Hour / time.Duration(*outages)
	began := time.Now()
	for o := range *outages {
		at := start.Add(time.Duration(o) * gap)
		err := db.Update(ctx, func(tx store.Tx) error {
			for i, name := range names {
				t := at.Add(time.Duration(i) * time.Millisecond)
				var fs []store.Failure
				for f := range *failures {
					fs = append(fs, store.Failure{Check: name, At: t.Add(time.Duration(f) * time.Second), Kind: "status",
						Error: "status 502, want 2xx", Latency: 30 * time.Millisecond})
				}
				if err := tx.AddFailures(ctx, fs); err != nil {
					return err
				}
				down := t.Add(time.Duration(*failures-1) * time.Second)
				if err := tx.RecordChange(ctx, store.Change{Check: name, From: store.Up, To: store.Down, Since: t,
					Confirmed: down, Now: down, Detail: "status 502, want 2xx"}); err != nil {
					return err
				}
				up := t.Add(time.Duration(*failures) * time.Second)
				if err := tx.RecordChange(ctx, store.Change{Check: name, From: store.Down, To: store.Up, Since: up,
					Confirmed: up, Now: up, Detail: "recovered"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("wrote %d checks × %d outages × %d failures in %v\n", *checks, *outages, *failures, time.Since(began).Round(time.Millisecond))
	began = time.Now()
	v, bad, err := db.VerifyChain(ctx, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	if bad != nil {
		log.Fatal(bad)
	}
	fmt.Printf("verified %d entries in %v\n", v.Entries, time.Since(began).Round(time.Millisecond))
}
