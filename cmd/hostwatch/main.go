// Command hostwatch watches online shops from the outside and tells their
// owners, in the chat app they use, the moment a shop goes down and when it
// is back.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	_ "time/tzdata" // timezone: works in a minimal image with no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `hostwatch watches online shops and alerts their owners.

Usage:
  hostwatch run      [-config hostwatch.yaml]                    run the daemon
  hostwatch validate [-config hostwatch.yaml]                    check the config, exit 1 on errors
  hostwatch check    [-config hostwatch.yaml] [merchant/check ...]  probe once, exit 1 if any is down
  hostwatch report   [-config hostwatch.yaml] [-since 30d|2026-11] [-merchant NAME] [-format text|csv|json]
                                                                 uptime, downtime and incidents over a period
  hostwatch migrate  [-config hostwatch.yaml]                    bring the store's schema up to date
  hostwatch version                                              print the version
`

// exitError carries the exit code a subcommand wants, after its message was
// printed.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = runDaemon(rest, stdout, stderr)
	case "validate":
		err = runValidate(rest, stdout, stderr)
	case "check":
		err = runCheck(rest, stdout, stderr)
	case "report":
		err = runReport(rest, stdout, stderr)
	case "migrate":
		err = runMigrate(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "hostwatch", versionString())
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hostwatch: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var code exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(stderr, "hostwatch:", err)
		return 1
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// newFlags makes a subcommand's flag set with the -config flag every one has.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("hostwatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "hostwatch.yaml", "the configuration file")
	return fs, path
}

// signalContext is the context a command runs in: done at the first
// SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return notifyContext(context.Background())
}
