package main

import (
	"fmt"
	"io"

	"github.com/hostwatch/hostwatch/config"
)

// runMigrate brings the store's schema up to date and says which version
// it is at. run does the same at start; migrate lets a deploy do it as a
// step of its own, before the new daemons start.
func runMigrate(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("migrate", stderr)
	if err := fs.Parse(args); err != nil {
		return err
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
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s store: schema at version %d\n", cfg.Storage.Driver, v)
	return nil
}
