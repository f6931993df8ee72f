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
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	fmt.Fprintf(stdout, "%s: ok, %d merchants, %d checks\n", *path, len(cfg.Merchants), len(cfg.Checks()))
	return nil
}
