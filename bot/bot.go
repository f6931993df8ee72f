package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// Backend is what the bot asks and tells the rest of hostwatch.
type Backend interface {
	Statuses() []monitor.Status
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	Incident(ctx context.Context, id int64) (store.Incident, error)
	Acknowledge(ctx context.Context, n int64, by string) (store.Incident, error)
	Resolve(ctx context.Context, n int64, by string) (store.Incident, error)
	ProbeNow(ctx context.Context, check string) (checks.Result, error)
	// Alert returns an open alert, for its buttons.
	Alert(ctx context.Context, id int64) (incident.AlertInfo, bool)
	AcknowledgeAlert(ctx context.Context, id int64, by string) (incident.AlertInfo, error)
	Silence(ctx context.Context, target string, d time.Duration, reason, by string) (store.Silence, error)
	SilenceAlert(ctx context.Context, id int64, d time.Duration, by string) (store.Silence, error)
	Silences(ctx context.Context) ([]store.Silence, error)
	Unsilence(ctx context.Context, id int64, by string) (store.Silence, error)
	// Report builds the report of period for merchants (all when nil).
	Report(ctx context.Context, merchants []string, period string) (*report.Report, error)
	// Origins are what the sources said of the alerts they reported.
	Origins(ctx context.Context) (map[string]store.Origin, error)
	// Claims computes the claims of month (2026-11) for merchants (all
	// when nil) against provider (every one with an sla when empty): one
	// for each provider and merchant with a check under its sla.
	Claims(ctx context.Context, merchants []string, provider, month string) ([]*claim.Claim, error)
}

// Request is one command or button press.
type Request struct {
	// Caller is who asks, as the config knows them: a Telegram chat id, a
	// Slack user or channel id.
	Caller string
	// User is the person, for the record: "@kim".
	User string
	Text string
}

// access is what one caller may see, and the language they read.
type access struct {
	admin     bool
	merchants []string
	lang      locale.Lang
}

// Bot answers commands in one chat app, to the people allowed to ask, in
// each one's language.
type Bot struct {
	backend Backend
	tmpl    *locale.Templates
	names   locale.Names
	lang    locale.Lang            // of callers the config does not know
	name    atomic.Pointer[string] // the bot's username, for "/status@name"
	prefix  string                 // how commands are written: "/" or "/hostwatch "
	callers map[string]access
	// strangers are contacts who may see nothing, by caller id: their
	// refusals are in their language.
	strangers map[string]locale.Lang
	log       *slog.Logger
	// pings are the heartbeat checks' ping URLs, by check.
	pings map[string]string
	// loc is the configured zone, in which months begin.
	loc *time.Location
}

// New builds the bot of platform ("telegram" or "slack") for cfg; its
// replies are put into words by tmpl.
func New(cfg *config.Config, platform, botName string, backend Backend, tmpl *locale.Templates) *Bot {
	b := &Bot{backend: backend, tmpl: tmpl, names: cfg.Names(), prefix: "/", callers: map[string]access{},
		strangers: map[string]locale.Lang{}, log: slog.New(slog.DiscardHandler), loc: cfg.Location}
	if b.loc == nil {
		b.loc = time.UTC
	}
	b.lang, _ = locale.Parse(cfg.Defaults.Language)
	b.lang = b.lang.Or(locale.English)
	b.SetName(botName)
	if platform == "slack" {
		b.prefix = "/hostwatch "
	}
	id := func(c config.Contact) string {
		if platform == "slack" {
			return c.Slack
		}
		if c.Telegram == 0 {
			return ""
		}
		return strconv.FormatInt(c.Telegram, 10)
	}
	ids := map[string]string{} // contact name → caller id
	for _, c := range cfg.Contacts {
		if v := id(c); v != "" {
			ids[c.Name] = v
			if _, seen := b.callers[v]; !seen {
				lang, _ := locale.Parse(c.Language)
				b.callers[v] = access{lang: lang.Or(b.lang)}
			}
		}
	}
	known := map[string]bool{}
	for _, name := range cfg.Admins {
		if v, ok := ids[name]; ok {
			known[v] = true
			a := b.callers[v]
			a.admin = true
			b.callers[v] = a
		}
	}
	for _, m := range cfg.Merchants {
		for _, name := range m.Contacts {
			if v, ok := ids[name]; ok {
				known[v] = true
				a := b.callers[v]
				a.merchants = append(a.merchants, m.Name)
				b.callers[v] = a
			}
		}
	}
	// A contact neither admin nor anyone's owner may see nothing: a
	// stranger, but one whose language is known.
	for v, a := range b.callers {
		if !known[v] {
			delete(b.callers, v)
			b.strangers[v] = a.lang
		}
	}
	return b
}

// SetLogger sets where templates of the operator's that fail are told of.
func (b *Bot) SetLogger(log *slog.Logger) { b.log = log }

// SetPingURLs gives the bot the heartbeat checks' ping URLs, by check,
// for /check to show those who may see the check; before it runs.
func (b *Bot) SetPingURLs(urls map[string]string) { b.pings = urls }

// say renders the reply template name in lang; args are pairs of a name
// and its value, and P, how commands are written, is always there.
func (b *Bot) say(lang locale.Lang, name string, args ...any) string {
	data := map[string]any{"P": b.prefix}
	for i := 0; i+1 < len(args); i += 2 {
		data[args[i].(string)] = args[i+1]
	}
	return b.render(lang, name, data)
}

func (b *Bot) render(lang locale.Lang, name string, data map[string]any) string {
	text, err := b.tmpl.Exec(lang, name, data)
	if err != nil {
		b.log.Error("render a reply", "template", name, "lang", lang, "err", err)
	}
	return strings.TrimSpace(text)
}

// langOf is the language of a caller, known or not.
func (b *Bot) langOf(caller string) locale.Lang {
	if a, ok := b.callers[caller]; ok {
		return a.lang
	}
	if l, ok := b.strangers[caller]; ok {
		return l
	}
	return b.lang
}

func (b *Bot) checkName(id string) string { return b.names.CheckWithID(id) }

func (a access) sees(check string) bool {
	m, _, _ := strings.Cut(check, "/")
	return a.admin || slices.Contains(a.merchants, m)
}

func (b *Bot) refusal(caller string) string {
	return b.say(b.langOf(caller), "bot.refusal", "Caller", caller)
}

// Reply is one answer to a command: a text, and with it a file to attach.
type Reply struct {
	Text string
	File *File
}

// File is a file attached to a reply.
type File struct {
	Name string
	Data []byte
}

func say(text string) []Reply { return []Reply{{Text: text}} }

// Command answers a typed command. Nil means the text was not for this bot.
func (b *Bot) Command(ctx context.Context, r Request) []Reply {
	c, ok := ParseCommand(r.Text, *b.name.Load())
	if !ok {
		return nil
	}
	a, known := b.callers[r.Caller]
	lang := b.langOf(r.Caller)
	if c.Name == "start" || c.Name == "help" {
		help := b.say(lang, "bot.help", "Caller", r.Caller)
		if !known {
			return say(help + "\n\n" + b.refusal(r.Caller))
		}
		return say(help)
	}
	if !known {
		return say(b.refusal(r.Caller))
	}
	switch c.Name {
	case "status":
		return say(b.status(ctx, a))
	case "incidents":
		return say(b.incidents(ctx, a, c.Args))
	case "ack", "resolve":
		n, msg := b.incidentArg(lang, c.Name, c.Args)
		if msg != "" {
			return say(msg)
		}
		if c.Name == "ack" {
			return say(b.ack(ctx, a, n, r.User))
		}
		return say(b.resolve(ctx, a, n, r.User))
	case "check":
		if len(c.Args) != 1 {
			return say(b.say(lang, "bot.usage", "Name", "check"))
		}
		return say(b.check(ctx, a, c.Args[0]))
	case "silence":
		return say(b.silence(ctx, a, c.Args, r.User))
	case "silences":
		return say(b.silences(ctx, a))
	case "unsilence":
		n, msg := b.incidentArg(lang, c.Name, c.Args)
		if msg != "" {
			return say(b.say(lang, "bot.which_silence", "Name", "unsilence"))
		}
		return say(b.unsilence(ctx, a, n, r.User))
	case "report":
		return b.report(ctx, a, c.Args)
	case "claim":
		return b.claim(ctx, a, c.Args)
	}
	return say(b.say(lang, "bot.unknown_command", "Name", c.Name))
}

// Press answers a button; the answer is short, for the chat app's toast.
func (b *Bot) Press(ctx context.Context, r Request, data string) string {
	a, known := b.callers[r.Caller]
	if !known {
		return b.say(b.langOf(r.Caller), "bot.refusal.press", "Caller", r.Caller)
	}
	act, err := DecodeAction(data)
	if err != nil {
		return b.say(a.lang, "bot.not_mine")
	}
	if act.Alert != 0 {
		info, ok := b.backend.Alert(ctx, act.Alert)
		if !ok || !a.seesAlert(info) {
			return b.say(a.lang, "bot.alert_over")
		}
		if act.Verb == "ack" {
			return b.ackAlert(ctx, a, info, r.User)
		}
		sl, err := b.backend.SilenceAlert(ctx, act.Alert, act.For, r.User)
		if err != nil {
			return b.say(a.lang, "bot.sorry")
		}
		return b.silenced(a, sl, false)
	}
	switch act.Verb {
	case "ack":
		return b.ack(ctx, a, act.Incident, r.User)
	default:
		in, err := b.backend.Incident(ctx, act.Incident)
		if err != nil || !a.sees(in.Check) {
			return b.say(a.lang, "bot.no_incident", "N", act.Incident)
		}
		sl, err := b.backend.Silence(ctx, in.Check, act.For, "", r.User)
		if err != nil {
			return b.say(a.lang, "bot.sorry")
		}
		return b.silenced(a, sl, false)
	}
}

// seesAlert reports whether a may act on an alert: a merchant's own, or
// any for an admin.
func (a access) seesAlert(info incident.AlertInfo) bool {
	if info.Scope == store.ScopeProvider {
		return a.admin
	}
	return a.admin || slices.Contains(a.merchants, info.Name)
}

func (b *Bot) ackAlert(ctx context.Context, a access, info incident.AlertInfo, user string) string {
	_, err := b.backend.AcknowledgeAlert(ctx, info.ID, user)
	what := b.names.Merchant(info.Name)
	if len(info.Checks) == 1 && info.Scope != store.ScopeProvider {
		what = b.checkName(info.Checks[0])
	}
	switch {
	case errors.Is(err, store.ErrAcknowledged):
		return b.say(a.lang, "bot.alert_already_acked", "What", what)
	case errors.Is(err, store.ErrNotFound):
		return b.say(a.lang, "bot.alert_over")
	case err != nil:
		return b.say(a.lang, "bot.sorry")
	}
	return b.say(a.lang, "bot.alert_acked", "What", what, "By", user)
}

// maxSilence bounds a silence: a forgotten one must not hide outages for
// good.
const maxSilence = 90 * 24 * time.Hour

func (b *Bot) silence(ctx context.Context, a access, args []string, user string) string {
	if len(args) < 2 {
		return b.say(a.lang, "bot.silence_what", "Name", "silence")
	}
	target := args[0]
	d, err := ParseDuration(args[1])
	if err != nil {
		return b.say(a.lang, "bot.not_a_duration", "Name", "silence", "Arg", args[1])
	}
	if d <= 0 || d > maxSilence {
		return b.say(a.lang, "bot.silence_range", "Name", "silence", "Days", int(maxSilence/(24*time.Hour)))
	}
	if strings.HasPrefix(target, "provider:") && !a.admin {
		return b.say(a.lang, "bot.provider_admins")
	}
	if !strings.HasPrefix(target, "provider:") && !a.sees(target) {
		return b.say(a.lang, "bot.no_target", "Target", target)
	}
	sl, err := b.backend.Silence(ctx, target, d, strings.Join(args[2:], " "), user)
	switch {
	case errors.Is(err, incident.ErrUnknownTarget):
		return b.say(a.lang, "bot.no_target", "Target", target)
	case err != nil:
		return b.say(a.lang, "bot.sorry")
	}
	return b.silenced(a, sl, true)
}

// silenced says a silence is set; lift adds how to lift it.
func (b *Bot) silenced(a access, sl store.Silence, lift bool) string {
	data := map[string]any{"P": b.prefix, "Target": b.target(sl.Target), "Until": sl.End, "ID": sl.ID}
	if !lift {
		data["P"] = "" // the toast of a button is short: no how-to
	}
	return b.render(a.lang, "bot.silenced", data)
}

// target is a silence's target as a reply shows it.
func (b *Bot) target(t string) string {
	if strings.Contains(t, "/") {
		return b.checkName(t)
	}
	return b.names.MerchantWithID(t)
}

// seesTarget reports whether a may see a silence's target.
func (a access) seesTarget(target string) bool {
	if strings.HasPrefix(target, "provider:") {
		return a.admin
	}
	return a.sees(target)
}

func (b *Bot) silences(ctx context.Context, a access) string {
	all, err := b.backend.Silences(ctx)
	if err != nil {
		return b.say(a.lang, "bot.sorry", "What", "silences")
	}
	var shown []store.Silence
	for _, sl := range all {
		if a.seesTarget(sl.Target) {
			sl.Target = b.target(sl.Target)
			shown = append(shown, sl)
		}
	}
	return b.say(a.lang, "bot.silences", "Silences", shown)
}

func (b *Bot) unsilence(ctx context.Context, a access, n int64, user string) string {
	all, err := b.backend.Silences(ctx)
	if err != nil {
		return b.say(a.lang, "bot.sorry", "What", "silences")
	}
	var found *store.Silence
	for _, sl := range all {
		if sl.ID == n && a.seesTarget(sl.Target) {
			found = &sl
		}
	}
	if found == nil {
		return b.say(a.lang, "bot.no_silence", "N", n)
	}
	if _, err := b.backend.Unsilence(ctx, n, user); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return b.say(a.lang, "bot.silence_over", "N", n)
		}
		return b.say(a.lang, "bot.sorry")
	}
	return b.say(a.lang, "bot.unsilenced", "N", n, "Target", b.target(found.Target), "By", user)
}

// report answers with a summary of the caller's checks over the period
// and the whole report as a CSV file, in the caller's language.
func (b *Bot) report(ctx context.Context, a access, args []string) []Reply {
	if len(args) > 1 {
		return say(b.say(a.lang, "bot.usage", "Name", "report"))
	}
	period := ""
	if len(args) == 1 {
		period = args[0]
	}
	var merchants []string
	if !a.admin {
		merchants = append([]string{}, a.merchants...)
	}
	r, err := b.backend.Report(ctx, merchants, period)
	switch {
	case errors.Is(err, report.ErrPeriod):
		return say(b.say(a.lang, "bot.bad_period", "Name", "report", "Err", err.Error()))
	case err != nil:
		return say(b.say(a.lang, "bot.sorry", "What", "record"))
	}
	words := report.Words{Templates: b.tmpl, Lang: a.lang, Names: b.names}
	var csv strings.Builder
	if err := words.CSV(&csv, r, false); err != nil {
		return say(b.say(a.lang, "bot.sorry", "What", "report"))
	}
	name := "hostwatch-report-" + r.Period.Label + ".csv"
	text, err := words.Summary(r)
	if err != nil {
		b.log.Error("render a report", "lang", a.lang, "err", err)
	}
	return []Reply{{Text: text, File: &File{Name: name, Data: []byte(csv.String())}}}
}

// claim answers /claim [MONTH] [PROVIDER]: for each of the caller's
// merchants with checks under a provider's sla, the credit owed for the
// month (the last one by default), with the claim attached as Markdown.
func (b *Bot) claim(ctx context.Context, a access, args []string) []Reply {
	var month, provider string
	for _, arg := range args {
		switch {
		case monthArg.MatchString(arg) && month == "":
			month = arg
		case provider == "" && !monthArg.MatchString(arg):
			provider = arg
		default:
			return say(b.say(a.lang, "bot.usage", "Name", "claim"))
		}
	}
	if month == "" {
		now := time.Now().In(b.loc)
		month = time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, b.loc).Format("2006-01")
	}
	var merchants []string
	if !a.admin {
		merchants = append([]string{}, a.merchants...)
	}
	claims, err := b.backend.Claims(ctx, merchants, provider, month)
	switch {
	case errors.Is(err, claim.ErrMonth):
		return say(b.say(a.lang, "bot.bad_period", "Name", "claim", "Err", err.Error()))
	case err != nil:
		b.log.Error("compute a claim", "err", err)
		return say(b.say(a.lang, "bot.sorry", "What", "report"))
	}
	if len(claims) == 0 {
		return say(b.say(a.lang, "bot.no_claims", "Provider", provider, "Month", month))
	}
	words := claim.Words{Templates: b.tmpl, Lang: a.lang, Names: b.names}
	var out []Reply
	for _, c := range claims {
		var md bytes.Buffer
		if err := words.Markdown(&md, c); err != nil {
			b.log.Error("render a claim", "lang", a.lang, "err", err)
			return say(b.say(a.lang, "bot.sorry", "What", "report"))
		}
		tier := 0
		if c.Missed != nil {
			tier = c.Missed.Percent
		}
		text := b.say(a.lang, "bot.claim", "Merchant", b.names.MerchantWithID(c.Merchant), "Provider", c.Provider, "Month", c.Month,
			"Uptime", fmt.Sprintf("%.3f%%", c.Uptime), "Promised", fmt.Sprintf("%g%%", c.Promised), "Tier", tier,
			"Credit", claim.Money(c.Credit, c.Currency), "Partial", c.Partial)
		name := fmt.Sprintf("hostwatch-claim-%s-%s-%s.md", c.Provider, c.Merchant, c.Month)
		out = append(out, Reply{Text: text, File: &File{Name: name, Data: md.Bytes()}})
	}
	return out
}

// monthArg is a month as /claim takes it.
var monthArg = regexp.MustCompile(`^\d{4}-\d{2}$`)

// ParseDuration reads a duration as people write it in a chat: Go's
// forms (90m, 1h30m) and days (3d).
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// incidentArg reads the number a command names; msg says what is wrong
// with it, in lang, with the command's usage.
func (b *Bot) incidentArg(lang locale.Lang, cmd string, args []string) (n int64, msg string) {
	if len(args) != 1 {
		return 0, b.say(lang, "bot.which_incident", "Name", cmd)
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, b.say(lang, "bot.not_an_incident", "Name", cmd, "Arg", args[0])
	}
	return n, ""
}

func (b *Bot) ack(ctx context.Context, a access, n int64, user string) string {
	in, err := b.backend.Incident(ctx, n)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.sees(in.Check)) {
		return b.say(a.lang, "bot.no_incident", "N", n)
	}
	if err != nil {
		return b.say(a.lang, "bot.sorry", "What", "lookup")
	}
	in, err = b.backend.Acknowledge(ctx, n, user)
	switch {
	case errors.Is(err, store.ErrAcknowledged):
		return b.say(a.lang, "bot.already_acked", "N", n, "By", in.AckBy, "At", in.AckAt)
	case errors.Is(err, store.ErrNotFound):
		return b.say(a.lang, "bot.already_resolved", "N", n)
	case err != nil:
		return b.say(a.lang, "bot.sorry")
	}
	return b.say(a.lang, "bot.acked", "N", n, "Check", b.checkName(in.Check), "By", user)
}

func (b *Bot) resolve(ctx context.Context, a access, n int64, user string) string {
	in, err := b.backend.Incident(ctx, n)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.sees(in.Check)) {
		return b.say(a.lang, "bot.no_incident", "N", n)
	}
	if err != nil {
		return b.say(a.lang, "bot.sorry", "What", "lookup")
	}
	if !in.Open() {
		return b.say(a.lang, "bot.already_resolved", "N", n)
	}
	in, err = b.backend.Resolve(ctx, n, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return b.say(a.lang, "bot.already_resolved", "N", n)
	case err != nil:
		return b.say(a.lang, "bot.sorry")
	}
	return b.say(a.lang, "bot.resolved", "N", n, "Check", b.checkName(in.Check), "By", user, "After", in.End.Sub(in.Start))
}

func (b *Bot) check(ctx context.Context, a access, name string) string {
	var found *monitor.Status
	for _, st := range b.backend.Statuses() {
		if st.Check.ID == name && a.sees(name) {
			found = &st
		}
	}
	if found == nil {
		return b.say(a.lang, "bot.no_check", "Name", name)
	}
	if found.Check.Heartbeat != nil {
		return b.heartbeat(a, *found)
	}
	r, err := b.backend.ProbeNow(ctx, name)
	switch {
	case err != nil:
		return b.say(a.lang, "bot.sorry", "What", "probe")
	case r.OK:
		return b.say(a.lang, "bot.probe_up", "Name", b.checkName(name), "Latency", r.Latency.Round(time.Millisecond).String(), "Evidence", r.Evidence)
	}
	return b.say(a.lang, "bot.probe_down", "Name", b.checkName(name), "Error", r.Error)
}

// maxSaid is how much of what a job sent with its last ping /check shows.
const maxSaid = 200

// heartbeat answers /check of a heartbeat check, which is not probed: its
// state, its last ping, when the next is due, and the URL to ping.
func (b *Bot) heartbeat(a access, st monitor.Status) string {
	last := st.LastAt
	if last.IsZero() && st.State.State == store.Up {
		last = st.State.Probed // pinged at another instance
	}
	var said, failed string
	var ran time.Duration
	if !st.LastAt.IsZero() {
		said, ran = locale.OneLine(st.Last.Evidence), st.Last.Latency
		if n := []rune(said); len(n) > maxSaid {
			said = string(n[:maxSaid]) + "…"
		}
	}
	if st.State.State == store.Down {
		failed = st.Last.Error
	}
	grace := st.Check.Heartbeat.Grace.Duration
	var due time.Time
	if !st.NextProbe.IsZero() {
		due = st.NextProbe.Add(-grace)
	}
	return b.say(a.lang, "bot.heartbeat", "Name", b.checkName(st.Check.ID), "State", string(st.State.State), "Error", failed,
		"Last", last, "Ran", ran, "Said", said, "Due", due, "Grace", grace, "URL", b.pings[st.Check.ID])
}

// statusLine is one check in the answer to status.
type statusLine struct {
	Mark, Name, State string
	Since             time.Time
	Latency           string
	// Seen is what each location sees of a check probed from several.
	Seen []monitor.Seen
}

// status lists the caller's checks: how many are down first, then the
// ones that are, then the rest.
func (b *Bot) status(ctx context.Context, a access) string {
	lines := b.firing(ctx, a)
	down := len(lines)
	for _, st := range b.backend.Statuses() {
		if !a.sees(st.Check.ID) {
			continue
		}
		l := statusLine{Mark: mark(st.State.State), Name: b.checkName(st.Check.ID), State: string(st.State.State), Since: st.State.Since, Seen: st.Seen}
		if !st.LastAt.IsZero() {
			l.Latency = st.Last.Latency.Round(time.Millisecond).String()
		}
		if st.State.State == store.Down {
			down++
		}
		lines = append(lines, l)
	}
	slices.SortStableFunc(lines, func(x, y statusLine) int {
		return cmpBool(y.State == string(store.Down), x.State == string(store.Down))
	})
	return b.say(a.lang, "bot.status", "Checks", lines, "Down", down)
}

// firing lists the alerts of sources open now that the caller sees, as
// lines of /status.
func (b *Bot) firing(ctx context.Context, a access) []statusLine {
	open, err := b.backend.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return nil
	}
	origins := b.origins(ctx, open)
	var lines []statusLine
	for _, in := range open {
		if _, ok := origins[in.Check]; ok && a.sees(in.Check) {
			lines = append(lines, statusLine{Mark: mark(store.Down), Name: b.alertName(in.Check, origins), State: string(store.Down), Since: in.Start})
		}
	}
	slices.SortFunc(lines, func(x, y statusLine) int { return x.Since.Compare(y.Since) })
	return lines
}

// origins reads what the sources said of their alerts, when one of ins
// is a source's.
func (b *Bot) origins(ctx context.Context, ins []store.Incident) map[string]store.Origin {
	if !slices.ContainsFunc(ins, func(in store.Incident) bool { return source.SourceOf(in.Check) != "" }) {
		return nil
	}
	origins, err := b.backend.Origins(ctx)
	if err != nil {
		return nil
	}
	return origins
}

// alertName names a check, or a source's alert by its title and labels.
func (b *Bot) alertName(check string, origins map[string]store.Origin) string {
	o, ok := origins[check]
	if !ok {
		return b.checkName(check)
	}
	if l := notifier.LabelText(o.Labels); l != "" {
		return o.Title + " (" + l + ")"
	}
	return o.Title
}

// cmpBool orders true before false when used as cmpBool(y, x).
func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

func mark(s store.State) string {
	switch s {
	case store.Up:
		return "✅"
	case store.Down:
		return "🔴"
	}
	return "⚪"
}

// incidentLine is one incident in the answer to incidents.
type incidentLine struct {
	ID    int64
	Name  string
	Open  bool
	Start time.Time
	Down  time.Duration
	AckBy string
}

func (b *Bot) incidents(ctx context.Context, a access, args []string) string {
	f := store.IncidentFilter{OpenOnly: true, Limit: 30}
	if !a.admin {
		f.Merchants = append([]string{}, a.merchants...)
	}
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "open"):
	case len(args) == 1 && args[0] == "all":
		f.OpenOnly = false
	default:
		return b.say(a.lang, "bot.usage", "Name", "incidents")
	}
	all, err := b.backend.Incidents(ctx, f)
	if err != nil {
		return b.say(a.lang, "bot.sorry", "What", "lookup")
	}
	origins := b.origins(ctx, all)
	var lines []incidentLine
	for _, in := range all {
		if a.sees(in.Check) {
			lines = append(lines, incidentLine{ID: in.ID, Name: b.alertName(in.Check, origins), Open: in.Open(), Start: in.Start,
				Down: in.Downtime(time.Now()), AckBy: in.AckBy})
		}
	}
	return b.say(a.lang, "bot.incidents", "Incidents", lines, "OpenOnly", f.OpenOnly)
}

// SetName tells the bot its username once it is known; until then it takes
// a command addressed to any bot as its own.
func (b *Bot) SetName(name string) {
	b.name.Store(&name)
}

// Knows reports whether id is a registered caller.
func (b *Bot) Knows(id string) bool {
	_, ok := b.callers[id]
	return ok
}
