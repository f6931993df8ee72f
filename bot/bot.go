package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/report"
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

// access is what one caller may see.
type access struct {
	admin     bool
	merchants []string
}

// Bot answers commands in one chat app, to the people allowed to ask.
type Bot struct {
	backend Backend
	loc     *time.Location
	name    atomic.Pointer[string] // the bot's username, for "/status@name"
	prefix  string                 // how commands are written: "/" or "/hostwatch "
	callers map[string]access
}

// New builds the bot of platform ("telegram" or "slack") for cfg.
func New(cfg *config.Config, platform, botName string, backend Backend) *Bot {
	b := &Bot{backend: backend, loc: cfg.Location, prefix: "/", callers: map[string]access{}}
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
		}
	}
	for _, name := range cfg.Admins {
		if v, ok := ids[name]; ok {
			a := b.callers[v]
			a.admin = true
			b.callers[v] = a
		}
	}
	for _, m := range cfg.Merchants {
		for _, name := range m.Contacts {
			if v, ok := ids[name]; ok {
				a := b.callers[v]
				a.merchants = append(a.merchants, m.Name)
				b.callers[v] = a
			}
		}
	}
	return b
}

func (a access) sees(check string) bool {
	m, _, _ := strings.Cut(check, "/")
	return a.admin || slices.Contains(a.merchants, m)
}

func (b *Bot) refusal(caller string) string {
	return fmt.Sprintf("Sorry, this chat is not registered with hostwatch, so I can show nothing here. "+
		"Its id is %s: ask your hostwatch operator to add it to a contact in the configuration.", caller)
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
	if c.Name == "start" || c.Name == "help" {
		if !known {
			return say(b.help(r.Caller) + "\n\n" + b.refusal(r.Caller))
		}
		return say(b.help(r.Caller))
	}
	if !known {
		return say(b.refusal(r.Caller))
	}
	switch c.Name {
	case "status":
		return say(b.status(a))
	case "incidents":
		return say(b.incidents(ctx, a, c.Args))
	case "ack":
		n, err := incidentArg(c.Args)
		if err != nil {
			return say(fmt.Sprintf("%s. Usage: %s, e.g. %sack 12", err, usageOf("ack", b.prefix), b.prefix))
		}
		return say(b.ack(ctx, a, n, r.User))
	case "resolve":
		n, err := incidentArg(c.Args)
		if err != nil {
			return say(fmt.Sprintf("%s. Usage: %s, e.g. %sresolve 12", err, usageOf("resolve", b.prefix), b.prefix))
		}
		return say(b.resolve(ctx, a, n, r.User))
	case "check":
		if len(c.Args) != 1 {
			return say("Which check? Usage: " + usageOf("check", b.prefix) + ", e.g. " + b.prefix + "check kim-shop/storefront")
		}
		return say(b.check(ctx, a, c.Args[0]))
	case "silence":
		return say(b.silence(ctx, a, c.Args, r.User))
	case "silences":
		return say(b.silences(ctx, a))
	case "unsilence":
		n, err := incidentArg(c.Args)
		if err != nil {
			return say(fmt.Sprintf("Which silence? Give its number, from %ssilences. Usage: %s", b.prefix, usageOf("unsilence", b.prefix)))
		}
		return say(b.unsilence(ctx, a, n, r.User))
	case "report":
		return b.report(ctx, a, c.Args)
	}
	return say(fmt.Sprintf("I don't know %s%s. Send %shelp for what I can do.", b.prefix, c.Name, b.prefix))
}

// Press answers a button; the answer is short, for the chat app's toast.
func (b *Bot) Press(ctx context.Context, r Request, data string) string {
	a, known := b.callers[r.Caller]
	if !known {
		return "This chat is not registered with hostwatch (id " + r.Caller + ")."
	}
	act, err := DecodeAction(data)
	if err != nil {
		return "This button is not one of mine."
	}
	if act.Alert != 0 {
		info, ok := b.backend.Alert(ctx, act.Alert)
		if !ok || !a.seesAlert(info) {
			return "This alert is over: nothing left to do."
		}
		if act.Verb == "ack" {
			return b.ackAlert(ctx, info, r.User)
		}
		sl, err := b.backend.SilenceAlert(ctx, act.Alert, act.For, r.User)
		if err != nil {
			return "Sorry, I could not record that just now; try again in a moment."
		}
		return b.silenced(sl)
	}
	switch act.Verb {
	case "ack":
		return b.ack(ctx, a, act.Incident, r.User)
	default:
		in, err := b.backend.Incident(ctx, act.Incident)
		if err != nil || !a.sees(in.Check) {
			return fmt.Sprintf("There is no incident #%d among yours.", act.Incident)
		}
		sl, err := b.backend.Silence(ctx, in.Check, act.For, "", r.User)
		if err != nil {
			return "Sorry, I could not record that just now; try again in a moment."
		}
		return b.silenced(sl)
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

func (b *Bot) ackAlert(ctx context.Context, info incident.AlertInfo, user string) string {
	_, err := b.backend.AcknowledgeAlert(ctx, info.ID, user)
	what := info.Name
	if len(info.Checks) == 1 && info.Scope != store.ScopeProvider {
		what = info.Checks[0]
	}
	switch {
	case errors.Is(err, store.ErrAcknowledged):
		return fmt.Sprintf("%s was already acknowledged.", what)
	case errors.Is(err, store.ErrNotFound):
		return "This alert is over: nothing left to do."
	case err != nil:
		return "Sorry, I could not record that just now; try again in a moment."
	}
	return fmt.Sprintf("%s acknowledged by %s.", what, user)
}

// maxSilence bounds a silence: a forgotten one must not hide outages for
// good.
const maxSilence = 90 * 24 * time.Hour

func (b *Bot) silence(ctx context.Context, a access, args []string, user string) string {
	usage := fmt.Sprintf("Usage: %s, e.g. %ssilence kim-shop/db 2h moving the database", usageOf("silence", b.prefix), b.prefix)
	if len(args) < 2 {
		return "What, and for how long? " + usage
	}
	target := args[0]
	d, err := ParseDuration(args[1])
	if err != nil {
		return fmt.Sprintf("%q is not a duration: write 30m, 2h or 3d. %s", args[1], usage)
	}
	if d <= 0 || d > maxSilence {
		return fmt.Sprintf("A silence lasts from a minute to %d days. %s", maxSilence/(24*time.Hour), usage)
	}
	if strings.HasPrefix(target, "provider:") && !a.admin {
		return "Only an admin can silence a whole provider."
	}
	if !strings.HasPrefix(target, "provider:") && !a.sees(target) {
		return fmt.Sprintf("There is no %q among yours. Send %sstatus for their names.", target, b.prefix)
	}
	sl, err := b.backend.Silence(ctx, target, d, strings.Join(args[2:], " "), user)
	switch {
	case errors.Is(err, incident.ErrUnknownTarget):
		return fmt.Sprintf("There is no %q among yours. Send %sstatus for their names.", target, b.prefix)
	case err != nil:
		return "Sorry, I could not record that just now; try again in a moment."
	}
	return b.silenced(sl) + fmt.Sprintf(" Lift it with %sunsilence %d.", b.prefix, sl.ID)
}

func (b *Bot) silenced(sl store.Silence) string {
	return fmt.Sprintf("🔕 %s silenced until %s (silence #%d). Its checks are still probed and recorded; "+
		"an outage still going on then is announced then.", sl.Target, sl.End.In(b.loc).Format("Jan 2 15:04 MST"), sl.ID)
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
		return "Sorry, I could not read the silences just now; try again in a moment."
	}
	var s strings.Builder
	for _, sl := range all {
		if !a.seesTarget(sl.Target) {
			continue
		}
		if sl.ID == 0 {
			fmt.Fprintf(&s, "(config) %s until %s", sl.Target, sl.End.In(b.loc).Format("Jan 2 15:04"))
		} else {
			fmt.Fprintf(&s, "#%d %s until %s, by %s", sl.ID, sl.Target, sl.End.In(b.loc).Format("Jan 2 15:04"), sl.By)
		}
		if sl.Reason != "" {
			fmt.Fprintf(&s, ": %s", sl.Reason)
		}
		s.WriteString("\n")
	}
	if s.Len() == 0 {
		return "No silences: every alert goes out."
	}
	return strings.TrimSpace(s.String())
}

func (b *Bot) unsilence(ctx context.Context, a access, n int64, user string) string {
	all, err := b.backend.Silences(ctx)
	if err != nil {
		return "Sorry, I could not read the silences just now; try again in a moment."
	}
	var found *store.Silence
	for _, sl := range all {
		if sl.ID == n && a.seesTarget(sl.Target) {
			found = &sl
		}
	}
	if found == nil {
		return fmt.Sprintf("There is no silence #%d among yours. Send %ssilences for them.", n, b.prefix)
	}
	if _, err := b.backend.Unsilence(ctx, n, user); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Sprintf("Silence #%d is already over.", n)
		}
		return "Sorry, I could not record that just now; try again in a moment."
	}
	return fmt.Sprintf("🔔 Silence #%d of %s lifted by %s. An outage it held that is still going on is announced now.", n, found.Target, user)
}

// report answers with a summary of the caller's checks over the period
// and the whole report as a CSV file.
func (b *Bot) report(ctx context.Context, a access, args []string) []Reply {
	if len(args) > 1 {
		return say("Usage: " + usageOf("report", b.prefix) + ", e.g. " + b.prefix + "report 7d or " + b.prefix + "report 2026-11")
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
		return say(fmt.Sprintf("%s. Usage: %s", err, usageOf("report", b.prefix)))
	case err != nil:
		return say("Sorry, I could not read the record just now; try again in a moment.")
	}
	var csv strings.Builder
	if err := r.CSV(&csv, b.loc); err != nil {
		return say("Sorry, I could not write the report just now; try again in a moment.")
	}
	name := "hostwatch-report-" + r.Period.Label + ".csv"
	return []Reply{{Text: r.Summary(b.loc), File: &File{Name: name, Data: []byte(csv.String())}}}
}

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

func incidentArg(args []string) (int64, error) {
	if len(args) != 1 {
		return 0, errors.New("Which incident? Give its number")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not an incident number", args[0])
	}
	return n, nil
}

func (b *Bot) ack(ctx context.Context, a access, n int64, user string) string {
	in, err := b.backend.Incident(ctx, n)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.sees(in.Check)) {
		return fmt.Sprintf("There is no incident #%d among yours.", n)
	}
	if err != nil {
		return "Sorry, I could not look that up just now; try again in a moment."
	}
	in, err = b.backend.Acknowledge(ctx, n, user)
	switch {
	case errors.Is(err, store.ErrAcknowledged):
		return fmt.Sprintf("Incident #%d was already acknowledged by %s at %s.", n, in.AckBy, in.AckAt.In(b.loc).Format("15:04"))
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("Incident #%d is already resolved.", n)
	case err != nil:
		return "Sorry, I could not record that just now; try again in a moment."
	}
	return fmt.Sprintf("Incident #%d (%s) acknowledged by %s.", n, in.Check, user)
}

func (b *Bot) resolve(ctx context.Context, a access, n int64, user string) string {
	in, err := b.backend.Incident(ctx, n)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.sees(in.Check)) {
		return fmt.Sprintf("There is no incident #%d among yours.", n)
	}
	if err != nil {
		return "Sorry, I could not look that up just now; try again in a moment."
	}
	if !in.Open() {
		return fmt.Sprintf("Incident #%d is already resolved.", n)
	}
	in, err = b.backend.Resolve(ctx, n, user)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("Incident #%d is already resolved.", n)
	case err != nil:
		return "Sorry, I could not record that just now; try again in a moment."
	}
	return fmt.Sprintf("Incident #%d (%s) resolved by %s after %s.", n, in.Check, user, notifier.Duration(in.End.Sub(in.Start)))
}

func (b *Bot) check(ctx context.Context, a access, name string) string {
	var found *config.Check
	for _, st := range b.backend.Statuses() {
		if st.Check.ID == name && a.sees(name) {
			found = st.Check
		}
	}
	if found == nil {
		return fmt.Sprintf("There is no check %q among yours. Send %sstatus for their names.", name, b.prefix)
	}
	r, err := b.backend.ProbeNow(ctx, name)
	switch {
	case err != nil:
		return "Sorry, I could not probe that just now."
	case r.OK:
		return fmt.Sprintf("✅ %s is up: answered in %s (%s).", name, r.Latency.Round(time.Millisecond), r.Evidence)
	}
	return fmt.Sprintf("🔴 %s is down: %s.", name, r.Error)
}

func (b *Bot) help(caller string) string {
	var s strings.Builder
	s.WriteString("hostwatch checks your shops from the outside and tells you here when one goes down and when it is back.\n\n")
	for _, u := range usage {
		fmt.Fprintf(&s, "%s — %s\n", usageOf(u.name, b.prefix), u.does)
	}
	fmt.Fprintf(&s, "\nThis chat's id is %s.", caller)
	return s.String()
}

func (b *Bot) status(a access) string {
	var s strings.Builder
	n := 0
	for _, st := range b.backend.Statuses() {
		if !a.sees(st.Check.ID) {
			continue
		}
		n++
		fmt.Fprintf(&s, "%s %s — %s", mark(st.State.State), st.Check.ID, st.State.State)
		if !st.State.Since.IsZero() {
			fmt.Fprintf(&s, " since %s", st.State.Since.In(b.loc).Format("Jan 2 15:04"))
		}
		if !st.LastAt.IsZero() {
			fmt.Fprintf(&s, ", last probe %s", st.Last.Latency.Round(time.Millisecond))
		}
		s.WriteString("\n")
	}
	if n == 0 {
		return "You have no checks yet."
	}
	return strings.TrimSpace(s.String())
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
		return "Usage: " + usageOf("incidents", b.prefix)
	}
	all, err := b.backend.Incidents(ctx, f)
	if err != nil {
		return "Sorry, I could not look that up just now; try again in a moment."
	}
	var s strings.Builder
	n := 0
	for _, in := range all {
		if !a.sees(in.Check) {
			continue
		}
		n++
		state := "open"
		if !in.Open() {
			state = "resolved"
		}
		fmt.Fprintf(&s, "#%d %s — %s, %s, down %s", in.ID, in.Check, state,
			in.Start.In(b.loc).Format("Jan 2 15:04"), notifier.Duration(in.Downtime(time.Now())))
		if in.AckBy != "" {
			fmt.Fprintf(&s, ", acknowledged by %s", in.AckBy)
		}
		s.WriteString("\n")
	}
	if n == 0 {
		if f.OpenOnly {
			return "No open incidents. All is well."
		}
		return "No incidents yet."
	}
	return strings.TrimSpace(s.String())
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
