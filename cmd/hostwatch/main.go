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
	"runtime"
	"runtime/debug"

	_ "time/tzdata" // timezone: works in a minimal image with no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// vcsRevision is set with -ldflags "-X main.vcsRevision=..." where the go
// command cannot stamp the revision itself: a build without .git, as in
// the image.
var vcsRevision = ""

const usage = `hostwatch watches online shops and alerts their owners.

Usage:
  hostwatch run      [-config hostwatch.yaml] [-log-format text|json]  run the daemon (SIGHUP reloads the file)
  hostwatch validate [-config hostwatch.yaml]                    check the config, exit 1 on errors
  hostwatch check    [-config hostwatch.yaml] [merchant/check ...]  probe once, exit 1 if any is down
  hostwatch report   [-config hostwatch.yaml] [-since 30d|2026-11] [-merchant NAME] [-format text|csv|json]
                                                                 uptime, downtime and incidents over a period
  hostwatch claim    [-config hostwatch.yaml] -provider NAME -merchant NAME -month 2026-11 [-format md|json|html] [-lang en|ko] [-o FILE]
                                                                 the SLA credit a provider owes a merchant for a month
  hostwatch migrate  [-config hostwatch.yaml]                    bring the store's schema up to date
  hostwatch verify   [-config hostwatch.yaml] [-from 2026-11-01]   check the tamper-evident record, exit 1 at an entry that does not match
  hostwatch reload   [-config hostwatch.yaml]                    make the running daemon load the file again
  hostwatch healthcheck [-url http://127.0.0.1:8080/healthz]      exit 0 when the daemon answers healthy
  hostwatch agent    -server URL -location NAME [-buffer 100000]  probe for a server from another place (token in HOSTWATCH_AGENT_TOKEN)
  hostwatch version                                              print the version, revision and Go version
`

// exitError carries the exit code a subcommand wants, after its message was
// printed.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func main() {
	// The heap of hostwatch is mostly what it keeps (the checks, their
	// state) once the file is read; collecting when the heap has grown by
	// half rather than doubled keeps it near that size, at a little CPU.
	// GOGC, when set, decides.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// gcPercent is GOGC unless the environment sets one; loadGCPercent while
// the daemon reads its file at start (loadFirst).
const (
	gcPercent     = 50
	loadGCPercent = 100
)

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
	case "claim":
		err = runClaim(rest, stdout, stderr)
	case "migrate":
		err = runMigrate(rest, stdout, stderr)
	case "verify":
		err = runVerify(rest, stdout, stderr)
	case "reload":
		err = runReload(rest, stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(rest, stdout, stderr)
	case "agent":
		err = runAgent(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, buildInfo())
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

// vcs is the revision the binary was built from, its time and whether the
// tree had changes, as the go command stamps them.
func vcs() (revision, at string, modified bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return vcsRevision, "", false
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		revision = vcsRevision
	}
	return revision, at, modified
}

// buildInfo is what version prints: "hostwatch v1.2.0 (revision 92f72ee,
// 2026-12-03T05:10:00Z) go1.26.8".
func buildInfo() string {
	b := "hostwatch " + versionString()
	if rev, at, modified := vcs(); rev != "" {
		b += " (revision " + rev[:min(12, len(rev))]
		if at != "" {
			b += ", " + at
		}
		if modified {
			b += ", modified"
		}
		b += ")"
	}
	return b + " " + runtime.Version()
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
