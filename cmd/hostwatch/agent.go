package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// tokenEnv names the variable the agent's token is read from when -token
// is not given: the environment is not shown by ps, a flag is.
const tokenEnv = "HOSTWATCH_AGENT_TOKEN"

// runAgent probes for a hostwatch server from another place: the checks
// of its location, pulled from the server, the results pushed back.
func runAgent(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hostwatch agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "the hostwatch server's URL: https://hostwatch.example.com")
	token := fs.String("token", "", "the agent's token, as the server's agents: has it (better: "+tokenEnv+", which ps does not show)")
	location := fs.String("location", "", "the location this agent probes from, as the server's agents: names it")
	buffer := fs.Int("buffer", agent.DefaultBuffer, "how many results to keep while the server cannot be reached")
	poll := fs.Duration("poll", agent.DefaultPoll, "how often to ask the server for the checks")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostwatch agent: unexpected %q\n", fs.Arg(0))
		return exitError(2)
	}
	secret, fromFlag := config.Secret(*token), *token != ""
	if !fromFlag {
		secret = config.Secret(os.Getenv(tokenEnv))
	}
	switch {
	case *server == "" || *location == "":
		fmt.Fprintln(stderr, "hostwatch agent: -server and -location are required")
		return exitError(2)
	case secret == "":
		fmt.Fprintf(stderr, "hostwatch agent: the agent needs its token: set %s (or -token)\n", tokenEnv)
		return exitError(2)
	case *buffer < 1 || *poll <= 0:
		fmt.Fprintln(stderr, "hostwatch agent: -buffer and -poll must be positive")
		return exitError(2)
	}
	log, err := newLogger("agent", *logLevel, *logFormat, stderr)
	if err != nil {
		return err
	}

	// A shop's logs tell the agent's probes by where they come from.
	env := checks.NewEnv(checks.EnvOptions{UserAgent: "hostwatch/" + versionString() + " (" + *location + ")"})
	defer env.Close()
	r, err := agent.New(agent.Options{Server: *server, Location: *location, Token: secret, Env: env, Buffer: *buffer,
		Poll: *poll, UserAgent: "hostwatch-agent/" + versionString(), Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "hostwatch agent:", err)
		return exitError(2)
	}
	shown := *server
	if u, err := url.Parse(*server); err == nil {
		shown = u.Redacted()
	}
	if fromFlag {
		log.Warn("agent: the token was given with -token, which ps shows to everyone on this machine; " + tokenEnv + " does not")
	}
	log.Info("agent: started", "server", shown, "location", *location, "buffer", *buffer, "version", versionString())
	ctx, cancel := signalContext()
	defer cancel()
	if err := r.Run(ctx); err != nil {
		return err
	}
	log.Info("agent: stopped")
	return nil
}
