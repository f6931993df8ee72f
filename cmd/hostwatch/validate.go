package main

import (
	"fmt"
	"io"

	"github.com/hostwatch/hostwatch/config"
)

func runValidate(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("validate", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, w)
	}
	fmt.Fprintf(stdout, "%s: ok, %d merchants, %d checks", *path, len(cfg.Merchants), len(cfg.Checks()))
	if n := len(cfg.Files); n > 1 {
		fmt.Fprintf(stdout, " in %d files", n)
	}
	fmt.Fprintln(stdout)
	// What run will read from the environment, so that a deploy sets it.
	for _, e := range cfg.Env {
		state := "set"
		if !e.Set {
			state = "not set here"
		}
		fmt.Fprintf(stdout, "run needs ${%s} (%s): %s\n", e.Name, e.Key, state)
	}
	return nil
}
