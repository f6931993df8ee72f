package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/cluster"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/console"
	slacknotifier "github.com/hostwatch/hostwatch/notifier/slack"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/webhook"
	"github.com/hostwatch/hostwatch/ping"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/sqlite"
	"github.com/hostwatch/hostwatch/web"
)

func runDaemon(args []string, stdout, stderr io.Writer) error {
	// SIGHUP reloads; Go's default would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	fs, path := newFlags("run", stderr)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger("run", *logLevel, *logFormat, stderr)
	if err != nil {
		return err
	}

	cfg, err := loadFirst(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	cfg.HTTP.Listen = listenAddr(cfg.HTTP.Listen)
	ctx, cancel := signalContext()
	defer cancel()

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	if db, ok := st.(*sqlite.DB); ok {
		// One daemon on a SQLite file: a second would alert twice.
		if err := db.Lock(); err != nil {
			st.Close()
			return err
		}
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoMetric())
	reloads := newReloadMetrics(reg)

	// Several instances share a PostgreSQL database: the checks are shared
	// out, and one at a time takes the decisions and polls Telegram.
	shared := cfg.Storage.Driver == "postgres"
	var cur atomic.Pointer[generation]
	member := cluster.New(cluster.Options{Store: st, Name: cfg.Cluster.Instance, Location: cfg.Cluster.Location,
		Shared: shared, Logger: log, Registry: reg,
		Report: func() (string, int) {
			g := cur.Load()
			if g == nil {
				return "starting", 0
			}
			return role(g.engine), g.mon.Assigned()
		}})
	if err := member.Join(ctx); err != nil {
		return err
	}
	// Listen before the first probe: a check of the daemon's own /healthz
	// must find it up.
	listener, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Listen, err)
	}
	clock := clockwork.NewRealClock()
	d := &daemon{path: *path, stdout: stdout, log: log, st: st, reg: reg, member: member, shared: shared,
		clock: clock, probeClock: probeClock(clock), reloads: make(chan reloadRequest)}
	front := &frontDoor{current: func() http.Handler {
		if g := cur.Load(); g != nil {
			return g.handler
		}
		return http.NotFoundHandler()
	}, reload: d.reloads, done: ctx.Done(), adminToken: func() string { return d.cfg.Load().HTTP.AdminToken.Value() }}
	d.cfg.Store(cfg)

	var wg sync.WaitGroup
	var webErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := member.Run(ctx); err != nil {
			log.Warn("instance did not leave the membership; its lease ends by itself", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		if webErr = web.Serve(ctx, listener, front, log); webErr != nil {
			cancel()
		}
	}()
	defer wg.Wait()

	g, err := d.start(ctx, cfg, nil, nil)
	if err != nil {
		cancel()
		return err
	}
	cur.Store(g)
	// What reading the file took is garbage now: give it back to the
	// system rather than keep it for a heap that will not grow that big.
	go debug.FreeOSMemory()
	d.warnings(cfg)
	log.Info("hostwatch started", "version", versionString(), "config", *path, "checks", len(cfg.Checks()),
		"merchants", len(cfg.Merchants), "listen", listener.Addr().String(), "store", cfg.Storage.Driver)
	stopped := func(err error) error {
		cancel()
		wg.Wait()
		log.Info("hostwatch stopped")
		return errors.Join(err, webErr)
	}
	for {
		next, req := d.waitReload(ctx, hup, cfg, reloads)
		if next == nil {
			return stopped(g.stop())
		}
		// The running parts stop and start again on the new file; what
		// they were doing is in the store (incidents, alerts,
		// acknowledgements, silences, the outbox). The chat apps' requests
		// are turned away meanwhile, to be sent again, rather than taken
		// and lost.
		front.switching.Store(true)
		if err := g.stop(); err != nil {
			log.Error("stop for the reload", "err", err)
		}
		// Taken once the probes have stopped, so that none reported after
		// it. Checks shared with other instances are read from the store,
		// where their owners wrote them.
		var states map[string]store.CheckState
		if !shared {
			states = map[string]store.CheckState{}
		}
		watched := map[string]time.Time{}
		for _, s := range g.mon.Statuses() {
			watched[s.Check.ID] = s.Watched
			if states != nil {
				states[s.Check.ID] = s.State
			}
		}
		if ctx.Err() != nil {
			req.answer(errors.New("the daemon is stopping"))
			return stopped(nil)
		}
		ng, err := d.start(ctx, next, states, watched)
		if err != nil {
			// The file loaded but would not start (the store refused):
			// the running configuration starts again.
			reloads.failed()
			log.Error("reload: the new configuration did not start; the running one starts again", "err", err)
			req.answer(fmt.Errorf("the configuration loaded but did not start: %w", err))
			if ng, err = d.start(ctx, cfg, states, watched); err != nil {
				return stopped(fmt.Errorf("start again after a failed reload: %w", err))
			}
		} else {
			cfg = next
			d.cfg.Store(cfg)
			reloads.succeeded()
			req.answer(nil)
			d.warnings(cfg)
			log.Info("configuration reloaded", "config", *path, "checks", len(cfg.Checks()), "merchants", len(cfg.Merchants))
		}
		g = ng
		cur.Store(g)
		front.switching.Store(false)
	}
}

// loadFirst reads the file the daemon starts on. Reading makes garbage
// (YAML's node trees) far faster than it keeps anything, and nothing else
// is in the heap yet: the collector goes at loadGCPercent meanwhile (for
// 100,000 checks a fifth less CPU than at gcPercent, and a peak still
// under what the running daemon holds), and is back at gcPercent before
// anything is probed. GOGC, when set, decides. A reload, beside the
// running daemon's heap, reads at gcPercent.
func loadFirst(path string) (*config.Config, error) {
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	}
	return config.Load(path)
}

// warnings logs what is allowed in cfg but most likely a mistake.
func (d *daemon) warnings(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		d.log.Warn("the configuration has a likely mistake", "warning", w.Error())
	}
}

// daemon is what outlives a reload: the store, the listener's front door,
// the membership, the process's metrics.
type daemon struct {
	path    string
	stdout  io.Writer
	log     *slog.Logger
	st      versioned
	reg     *prometheus.Registry
	member  *cluster.Member
	shared  bool
	clock   clockwork.Clock
	cfg     atomic.Pointer[config.Config]
	reloads chan reloadRequest
	// probeClock is the monitor's: clock, but in a test build
	// (clock_testclock.go).
	probeClock clockwork.Clock
}

// generation is the daemon's running parts on one configuration: the
// monitor, the incident engine, the dispatcher, the chat bots and the HTTP
// handlers. A reload stops one and starts the next.
type generation struct {
	mon     *monitor.Monitor
	engine  *incident.Engine
	handler http.Handler
	stop    func() error
}

// waitReload waits for the end (nil) or a valid configuration to reload
// to. A file that does not load is refused, with every error logged and
// answered, and the running configuration goes on.
func (d *daemon) waitReload(ctx context.Context, hup <-chan os.Signal, running *config.Config, m *reloadMetrics) (*config.Config, reloadRequest) {
	for {
		var req reloadRequest
		select {
		case <-ctx.Done():
			return nil, req
		case <-hup:
			d.log.Info("SIGHUP: reloading the configuration", "config", d.path)
		case req = <-d.reloads:
			d.log.Info("reloading the configuration on request", "config", d.path)
		}
		next, err := config.Load(d.path)
		if err != nil {
			m.failed()
			if es, ok := config.AsErrors(err); ok {
				for _, e := range es {
					d.log.Error("reload refused: the configuration has an error; the running one goes on", "error", e.Error())
				}
			} else {
				d.log.Error("reload refused; the running configuration goes on", "err", err)
			}
			if req.done != nil {
				req.done <- err
			}
			continue
		}
		keepFixed(d.log, running, next)
		return next, req
	}
}

// keepFixed keeps what a reload cannot change in a running process: the
// store, the address and the instance's name. A change to them is logged,
// for the next start.
func keepFixed(log *slog.Logger, running, next *config.Config) {
	if running.Storage.Driver != next.Storage.Driver || running.Storage.DSN.Value() != next.Storage.DSN.Value() {
		log.Warn("storage changed in the file: it takes effect at the next start")
	}
	if running.Cluster != next.Cluster {
		log.Warn("cluster changed in the file: it takes effect at the next start")
	}
	if os.Getenv("HOSTWATCH_LISTEN") == "" && running.HTTP.Listen != next.HTTP.Listen {
		log.Warn("http.listen changed in the file: it takes effect at the next start", "listening", running.HTTP.Listen)
	}
	next.Storage, next.Cluster, next.HTTP.Listen = running.Storage, running.Cluster, running.HTTP.Listen
}

// start builds and starts a generation on cfg. states are the checks'
// states a reload hands on, nil at the start of the process, and watched
// since when each check was watched.
func (d *daemon) start(parent context.Context, cfg *config.Config, states map[string]store.CheckState, watched map[string]time.Time) (*generation, error) {
	ctx, cancel := context.WithCancel(parent)
	ok := false
	var stored func() error // waits for the store's part, once started
	var monDone chan error  // the monitor's end, once it runs
	ua := "hostwatch/" + versionString()
	env := checks.NewEnv(checks.EnvOptions{UserAgent: ua})
	defer func() {
		if !ok {
			cancel()
			if stored != nil {
				stored() // cut short: not left running
			}
			if monDone != nil {
				<-monDone
			}
			env.Close()
		}
	}()
	log, st, member, shared, clock := d.log, d.st, d.member, d.shared, d.clock
	// The parts' metrics start again with them; the process's go on.
	reg := prometheus.NewRegistry()
	all := cfg.Checks()
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID
	}

	// Probing starts as soon as the checks are known: each result waits
	// for the saved states and the engine (monitor.Options.Wait), which
	// are ready well before the first probes of 100,000 checks spread
	// over their interval have all come back.
	pl := newPlaces(cfg, all)
	mo := monitor.Options{Checks: pl.local(), Env: env, Wait: true, State: st.CheckState,
		Watched: watched, Location: cfg.Location,
		Clock: d.probeClock, Logger: log, Registry: reg, Aggregate: !cfg.HTTP.Metrics.PerCheckOn()}
	if shared {
		mo.Owner = member
	}
	mon, err := monitor.New(mo)
	if err != nil {
		return nil, err
	}
	monDone = make(chan error, 1)
	go func() { monDone <- mon.Run(ctx) }()
	// The store registers the checks and reads their states while the
	// rest is built, once the monitor is probing; the engine waits for
	// both, and so do the monitor's results.
	resume := states != nil
	saved := make(chan error, 1)
	go func() {
		if err := st.Register(ctx, ids); err != nil {
			saved <- err
			return
		}
		var err error
		if !resume {
			states, err = st.CheckStates(ctx)
		}
		saved <- err
	}()
	stored = sync.OnceValue(func() error { return <-saved })

	tmpl, err := locale.Load(cfg.Templates, cfg.Location)
	if err != nil {
		return nil, err
	}
	words := notifier.NewRenderer(tmpl, cfg.Names(), log)
	notifiers := map[string]notifier.Notifier{
		"console": console.New(d.stdout, words),
		"webhook": webhook.New(cfg.Contacts, words, ua),
	}
	var editable []string
	var tg *telegram.Telegram
	var sl *slacknotifier.Slack
	if sc := cfg.Slack; sc != nil {
		sl = slacknotifier.New(sc.Token.Value(), sc.APIURL, words)
		notifiers["slack"] = sl
		editable = append(editable, "slack")
	}
	if t := cfg.Telegram; t != nil {
		tg = telegram.New(t.Token.Value(), t.APIEndpoint, words)
		notifiers["telegram"] = tg
		editable = append(editable, "telegram")
	}
	var engine *incident.Engine
	router := incident.NewRouter(cfg, slices.Collect(maps.Keys(notifiers)), editable)
	dispatcher, err := notifier.NewDispatcher(notifier.DispatcherOptions{
		Outbox: st, Notifiers: notifiers, Pacing: pacing(cfg.Delivery), Language: router.Language,
		Undeliverable: func(ctx context.Context, it store.OutboxItem, err error) { engine.ReportUndeliverable(ctx, it, err) },
		DrainTimeout:  cfg.Delivery.DrainTimeout.Duration,
		Holder:        member.Token(),
		Share:         func() int { return len(member.Members()) },
		Clock:         clock, Logger: log, Registry: reg,
	})
	if err != nil {
		return nil, err
	}
	// The rules and the reporter are read once and shared: with 100,000
	// checks each copy is tens of megabytes.
	rules := incident.RulesFrom(cfg)
	rep := newReporter(cfg, st, rules)
	if err := stored(); err != nil {
		return nil, err
	}
	// The engine asks the places where a check is seen down from only
	// once it runs, when they are joined to it.
	engine, err = incident.New(ctx, incident.Options{
		Store: st, Router: router, Rules: rules, Where: func(id string) *notifier.Where { return pl.where(id) },
		Wake: dispatcher.Wake, Checks: ids, Sources: sourceNames(cfg), Holder: member.Token(), Replaces: member.Replaced(), Poll: poll(shared),
		Clock: clock, Logger: log, Registry: reg,
	})
	if err != nil {
		return nil, err
	}
	// The heartbeats' tokens are made once and stored: a reload or a
	// restart keeps their URLs.
	tokens, err := ping.Load(ctx, st, all)
	if err != nil {
		return nil, err
	}
	pingURLs := tokens.URLs(ping.Base(cfg.HTTP.PublicURL, cfg.HTTP.Listen))
	// This process probes the checks of its own location; agents probe
	// theirs and send the results here.
	admins := func(m notifier.Message) {
		if err := engine.TellAdmins(ctx, m); err != nil {
			log.Error("tell the admins of a location", "location", m.Location, "err", err)
		}
	}
	if err := pl.join(engine, states, admins, clock.Now, log, reg); err != nil {
		return nil, err
	}
	// The canaries are probed apart: they are no one's checks, and what
	// they tell is only whether this place reaches the world.
	var canaries *monitor.Monitor
	if len(pl.canaries) > 0 {
		if canaries, err = monitor.New(monitor.Options{Checks: pl.canaries, Env: env, Sink: pl, Location: cfg.Location,
			Clock: d.probeClock, Logger: log, Registry: prometheus.NewRegistry(), Aggregate: true}); err != nil {
			return nil, err
		}
	}

	var intake *source.Handler
	if len(cfg.Sources) > 0 {
		if intake, err = source.NewHandler(cfg, engine, clock.Now, log, reg); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	var engineErr, dispatchErr error
	engineDone := make(chan struct{})
	// The dispatcher outlives the engine, so that what the engine writes
	// last is still delivered (within the drain timeout).
	dispatchCtx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	// Probing starts now: what follows (the bots, the status page) can
	// wait, and nothing of it can fail.
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(engineDone)
		engineErr = engine.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		dispatchErr = dispatcher.Run(dispatchCtx)
	}()
	mon.Ready(states, resume, pl.sink(engine))
	if canaries != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			canaries.Run(ctx)
		}()
	}
	handlers := map[string]http.Handler{"/ping/": ping.Handler(tokens, mon, clock.Now, log)}
	if pl.server != nil {
		handlers["/agent/v1/"] = pl.server
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl.watch(ctx)
		}()
	}
	if sc := cfg.Slack; sc != nil {
		slackBot := bot.New(cfg, "slack", "", backend{Engine: engine, Reporter: rep, mon: mon, places: pl, store: st, cfg: cfg}, tmpl)
		slackBot.SetLogger(log)
		slackBot.SetPingURLs(pingURLs)
		in := slacknotifier.NewInbound(ctx, sc.SigningSecret.Value(), sc.APIURL, slackBot, log)
		in.Files = sl
		in.Replays = st
		if sc.AppToken != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := in.SocketMode(ctx, sc.Token.Value(), sc.AppToken.Value(), sc.APIURL); err != nil {
					log.Error("slack: socket mode stopped", "err", err)
				}
			}()
		} else {
			handlers["POST /slack/commands"] = in.Commands()
			handlers["POST /slack/interactions"] = in.Interactions()
		}
	}
	if tg != nil {
		chatBot := bot.New(cfg, "telegram", "", backend{Engine: engine, Reporter: rep, mon: mon, places: pl, store: st, cfg: cfg}, tmpl)
		chatBot.SetLogger(log)
		chatBot.SetPingURLs(pingURLs)
		wg.Add(2)
		go func() {
			// Best effort, off the start-up path: a slow Bot API must not
			// hold up the first probes. Until then the bot takes
			// /cmd@anybot as its own.
			defer wg.Done()
			nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
			defer ncancel()
			name, err := tg.Username(nctx)
			if err != nil {
				log.Warn("telegram: could not learn the bot's name; answering commands addressed to any bot", "err", err)
				return
			}
			chatBot.SetName(name)
		}()
		if cfg.Telegram.Updates == "webhook" {
			secret := cfg.Telegram.WebhookSecret.Value()
			handlers["POST /telegram/webhook"] = tg.WebhookHandler(ctx, secret, chatBot, log)
			go func() {
				defer wg.Done()
				tg.SetWebhook(ctx, cfg.Telegram.WebhookURL, secret, log)
			}()
		} else {
			go func() {
				defer wg.Done()
				if !shared {
					tg.Poll(ctx, chatBot, log)
					return
				}
				// Two getUpdates callers conflict: one instance at a
				// time polls, another takes over when it cannot.
				member.Lead(ctx, "telegram", func(ctx context.Context) { tg.Poll(ctx, chatBot, log) })
			}()
		}
	}
	if intake != nil {
		handlers["POST /intake/"] = intake
	}
	status := statusOptions(cfg, mon, pl, st, tmpl, rules, rep)
	if status != nil {
		status.Members = member.Members
		status.Locations = pl.locations
	}
	var metricsToken string
	if cfg.HTTP.Metrics.Protect {
		metricsToken = cfg.HTTP.AdminToken.Value()
	}
	handler := web.New(web.Options{Store: st, Gatherer: prometheus.Gatherers{d.reg, reg}, Logger: log, Handlers: handlers, Status: status,
		MetricsToken: metricsToken,
		Self: func() web.Self {
			return web.Self{Instance: member.Name(), Location: member.Location(), Role: role(engine), Fenced: member.Fenced()}
		}})

	ok = true
	return &generation{mon: mon, engine: engine, handler: handler, stop: func() error {
		// The order of shutdown: probes stop, the record is written, what
		// is queued is delivered for a bounded time.
		cancel()
		monErr := <-monDone
		engine.Close()
		<-engineDone
		stopDispatch()
		wg.Wait()
		env.Close()
		return errors.Join(monErr, engineErr, dispatchErr)
	}}, nil
}

// newLogger is the logger of -log-level and -log-format for command cmd,
// writing to stderr.
func newLogger(cmd, level, format string, stderr io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	fmt.Fprintf(stderr, "hostwatch %s: -log-format must be text or json, not %q\n", cmd, format)
	return nil, exitError(2)
}

// role says what an instance does besides probing its share of the
// checks: "leader" takes the incident engine's decisions.
func role(e *incident.Engine) string {
	if e.Leader() {
		return "leader"
	}
	return "member"
}

// poll is how often the engine looks for signals of other instances: only
// when there may be others.
func poll(shared bool) time.Duration {
	if shared {
		return 250 * time.Millisecond
	}
	return 0
}

// statuses are the monitor's, with what the store knows: each check's open
// incident, and the state of the checks other instances probe.
func statuses(mon *monitor.Monitor, pl *places, st store.Store) []monitor.Status {
	out := pl.merge(mon.Statuses())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	saved, err := st.CheckStates(ctx)
	if err != nil {
		return out
	}
	for i := range out {
		s, ok := saved[out[i].Check.ID]
		if !ok {
			continue
		}
		// A heartbeat's ping may have come to another instance: the
		// state saved last is the newer.
		newer := out[i].Check.Heartbeat != nil && s.Probed.After(out[i].State.Probed)
		if !out[i].Owned || newer {
			out[i].State = s
			out[i].LastAt = time.Time{}
		}
		out[i].State.Incident = s.Incident
	}
	return out
}

// backend is what the chat bots ask of the daemon: the monitor and the
// store answer questions, the engine takes actions.
type backend struct {
	*incident.Engine
	*report.Reporter
	mon    *monitor.Monitor
	places *places
	store  store.Store
	cfg    *config.Config
}

func (b backend) Claims(ctx context.Context, merchants []string, provider, month string) ([]*claim.Claim, error) {
	return claims(ctx, b.cfg, b.store, merchants, provider, month)
}

func (b backend) Statuses() []monitor.Status { return statuses(b.mon, b.places, b.store) }

func (b backend) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	return b.store.Incidents(ctx, f)
}

func (b backend) Origins(ctx context.Context) (map[string]store.Origin, error) {
	return b.store.Origins(ctx)
}

func (b backend) Incident(ctx context.Context, id int64) (store.Incident, error) {
	return b.store.Incident(ctx, id)
}

func (b backend) ProbeNow(ctx context.Context, check string) (checks.Result, error) {
	return b.mon.ProbeNow(ctx, check)
}

// record is what the status page and the reports read: the monitor's
// states and the store, with the configuration's reporter.
type record struct {
	store.Store
	*report.Reporter
	mon    *monitor.Monitor
	places *places
}

func (r record) Statuses() []monitor.Status { return statuses(r.mon, r.places, r.Store) }

// statusOptions configures the status page and the API, nil when off.
func statusOptions(cfg *config.Config, mon *monitor.Monitor, pl *places, st store.Store, tmpl *locale.Templates, rules incident.Rules, rep *report.Reporter) *web.StatusOptions {
	sp := cfg.HTTP.StatusPage
	if !sp.On() {
		return nil
	}
	lang, _ := locale.Parse(sp.Language)
	if lang == "" {
		lang, _ = locale.Parse(cfg.Defaults.Language)
	}
	return &web.StatusOptions{Record: record{Store: st, Reporter: rep, mon: mon, places: pl}, Public: sp.Public,
		Token: sp.Token.Value(), Title: sp.Title, ShowErrors: sp.ShowErrors, Merchants: sp.Merchants, Location: cfg.Location,
		Words: tmpl, Lang: lang, Names: cfg.Names(), Outages: outages(rules, st), Private: privateSources(cfg)}
}

// outages are the providers' outages in progress for the status page, as
// the store has them: every instance shows them, not only the leader.
func outages(rules incident.Rules, st store.Store) func(ctx context.Context) ([]web.ProviderOutage, error) {
	return func(ctx context.Context) ([]web.ProviderOutage, error) {
		found, err := rules.Outages(ctx, st)
		out := make([]web.ProviderOutage, len(found))
		for i, o := range found {
			out[i] = web.ProviderOutage{Name: o.Provider, Down: o.Down, Of: o.Of, Checks: o.Checks}
		}
		return out, err
	}
}

// pacing turns the delivery settings into the dispatcher's limits.
func pacing(d config.Delivery) map[string]notifier.Pacing {
	pace := func(r config.Rate) notifier.Pace { return notifier.Pace{N: r.N, Per: r.Per} }
	return map[string]notifier.Pacing{
		"telegram": notifier.TelegramPacing(pace(d.Telegram.Global), pace(d.Telegram.Chat), pace(d.Telegram.Group)),
		"slack":    notifier.PerDestination(pace(d.Slack.Channel)),
		"webhook":  notifier.PerDestination(pace(d.Webhook.Destination)),
	}
}

// openStore opens the configured store, bringing its schema up to date.
func openStore(ctx context.Context, cfg *config.Config) (versioned, error) {
	switch cfg.Storage.Driver {
	case "sqlite":
		return sqlite.Open(ctx, cfg.Storage.DSN.Value())
	case "postgres":
		return postgres.Open(ctx, cfg.Storage.DSN.Value())
	default:
		return nil, fmt.Errorf("storage driver %q is not available in this build", cfg.Storage.Driver)
	}
}

// versioned is a store that says which schema it has.
type versioned interface {
	store.Store
	SchemaVersion(ctx context.Context) (int, error)
}

// buildInfoMetric is hostwatch_build_info: 1, labelled with what version
// prints, as Prometheus's own build_info metrics are.
func buildInfoMetric() prometheus.Collector {
	rev, _, _ := vcs()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "hostwatch_build_info",
		Help:        "The version, VCS revision and Go version hostwatch was built with; always 1.",
		ConstLabels: prometheus.Labels{"version": versionString(), "revision": rev, "goversion": runtime.Version()}})
	g.Set(1)
	return g
}

func sourceNames(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.Sources {
		out = append(out, s.Name)
	}
	return out
}

// privateSources are the sources whose alerts the status page leaves out.
func privateSources(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.Sources {
		if !s.Shown() {
			out = append(out, s.Name)
		}
	}
	return out
}
