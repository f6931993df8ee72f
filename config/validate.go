package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/locale"
)

// CronParser is the parser for every schedule in the file: five fields, an
// optional leading seconds field, and descriptors such as "@every 30s".
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var (
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	slackIDPattern   = regexp.MustCompile(`^[CGUWD][A-Z0-9]{2,}$`)
	methodPattern    = regexp.MustCompile(`^[A-Z]+$`)
	headerPattern    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	tgSecretPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	reservedContacts = map[string]bool{"owner": true, "admins": true}
	dnsTypes         = map[string]bool{"A": true, "AAAA": true, "CNAME": true, "MX": true}
	// pingToken is a token that stands in a URL's path as it is.
	pingToken = regexp.MustCompile(`^[A-Za-z0-9._~-]{16,128}$`)
)

// BuiltinPolicy is used when no policy named "default" is configured: tell
// the merchant's own contacts, once.
var BuiltinPolicy = Policy{Name: DefaultPolicy, Steps: []Step{{Notify: []string{"owner"}}}}

type validator struct {
	*decoder
	cfg      *Config
	offline  bool              // secrets not in uses may be left unset
	uses     []string          // the secrets the command reads
	contacts map[string]string // name → the path of the first
	policies map[string]bool
	// pingTokens are the heartbeats' tokens seen so far, and where.
	pingTokens map[string]string
	// places are the locations checks may be probed from.
	places map[string]bool
}

// fail reports a problem at path, unless reading path already failed:
// one mistake, one message.
func (v *validator) fail(path, format string, args ...any) {
	if v.bad[path] {
		return
	}
	v.errorf(v.line(path), path, format, args...)
}

// required reports an empty required value, naming the unset ${NAME} that
// left it empty.
func (v *validator) required(path, value string) bool {
	if value != "" {
		return true
	}
	if names := v.unset[path]; len(names) > 0 {
		if v.offline && v.secret[path] && !slices.Contains(v.uses, path) {
			return false // the daemon needs it; this command does not
		}
		v.fail(path, "is empty: ${%s} is not set in the environment", names[0])
		delete(v.unset, path)
	} else {
		v.fail(path, "is required")
	}
	return false
}

func (v *validator) validate() {
	c := v.cfg
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		v.fail("timezone", "unknown time zone %q", c.Timezone)
		loc = time.Local
	}
	c.Location = loc

	switch c.Storage.Driver {
	case "sqlite":
		v.required("storage.dsn", c.Storage.DSN.Value())
	case "postgres":
		if v.required("storage.dsn", c.Storage.DSN.Value()) {
			if u, err := url.Parse(c.Storage.DSN.Value()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
				v.fail("storage.dsn", "must be a postgres:// URL")
			}
		}
	default:
		v.fail("storage.driver", "must be sqlite or postgres, not %q", c.Storage.Driver)
	}
	v.name("cluster.instance", c.Cluster.Instance)
	if c.Cluster.Location != "" {
		v.name("cluster.location", c.Cluster.Location)
	}
	v.hostPort("http.listen", c.HTTP.Listen, true)
	if c.HTTP.PublicURL != "" {
		v.absURL("http.public_url", c.HTTP.PublicURL)
	}

	v.contacts = map[string]string{}
	for i, ct := range c.Contacts {
		v.contact(index("contacts", i), ct)
	}
	for i, name := range c.Admins {
		if v.contacts[name] == "" {
			v.fail(index("admins", i), "no contact is named %q", name)
		}
	}
	v.policies = map[string]bool{}
	for i, p := range c.Policies {
		v.policy(index("policies", i), p)
	}
	v.policies[DefaultPolicy] = true

	df := c.Defaults
	v.schedule("defaults.schedule", df.Schedule, loc)
	v.positive("defaults.timeout", df.Timeout.Duration)
	v.atLeast("defaults.down_after", df.DownAfter, 1)
	v.atLeast("defaults.up_after", df.UpAfter, 1)
	if v.has("defaults.retry_interval") {
		v.positive("defaults.retry_interval", df.RetryInterval.Duration)
	}
	if df.GroupWait.Duration < 0 {
		v.fail("defaults.group_wait", "must not be negative")
	}
	v.policyRef("defaults.policy", df.Policy)
	v.language("defaults.language", df.Language)
	if l := c.HTTP.StatusPage.Language; l != "" {
		v.language("http.status_page.language", l)
	}
	if c.HTTP.Metrics.Protect && c.HTTP.AdminToken == "" {
		// Unset for a command that does not serve /metrics is no matter;
		// the daemon must not serve it open.
		switch names := v.unset["http.admin_token"]; {
		case len(names) == 0:
			v.fail("http.metrics.protect", "needs http.admin_token, the token a scrape must carry")
		case !v.offline:
			v.fail("http.admin_token", "is empty: ${%s} is not set in the environment, and http.metrics.protect needs it", names[0])
		}
	}
	if c.Templates != "" {
		if _, err := locale.Load(c.Templates, loc); err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				v.errorf(v.line("templates"), "templates", "%s", e) // each file's error, not the first only
			}
		}
	}
	if df.Flapping.Changes < 0 {
		v.fail("defaults.flapping.changes", "must not be negative (0 turns flapping detection off)")
	}
	if df.Flapping.Changes > 0 {
		v.positive("defaults.flapping.window", df.Flapping.Window.Duration)
	}

	v.telegram()
	v.slack()
	v.locations()
	if c.Delivery.DrainTimeout.Duration < 0 {
		v.fail("delivery.drain_timeout", "must not be negative")
	}

	if sp := c.HTTP.StatusPage; sp.On() && !sp.Public && sp.Token == "" {
		v.fail("http.status_page.token", "is needed when public is false: without it nobody could read the page")
	}
	for i, name := range c.HTTP.StatusPage.Merchants {
		if !slices.ContainsFunc(c.Merchants, func(m Merchant) bool { return m.Name == name }) {
			v.fail(index("http.status_page.merchants", i), "no merchant is named %q", name)
		}
	}
	merchants := map[string]string{} // name → the path of the first
	for i := range c.Merchants {
		// A merchant its part found nothing wrong with alone is left
		// only what depends on the others.
		v.merchant(i, &c.Merchants[i], loc, merchants, !v.soloClean(i), true)
	}
	providers := map[string]bool{}
	for i, p := range c.Providers {
		path := index("providers", i)
		if v.name(path+".name", p.Name) {
			if providers[p.Name] {
				v.fail(path+".name", "another provider is named %q", p.Name)
			}
			providers[p.Name] = true
		}
		v.provider(path, p)
	}
	sources := map[string]bool{}
	for i, s := range c.Sources {
		path := index("sources", i)
		if v.name(path+".name", s.Name) {
			if sources[s.Name] {
				v.fail(path+".name", "another source is named %q", s.Name)
			}
			sources[s.Name] = true
		}
		v.source(path, s, merchants)
	}
	for i := range c.Maintenance {
		v.maintenance(index("maintenance", i), &c.Maintenance[i], loc)
	}
	for i := range c.Silences {
		v.silence(index("silences", i), &c.Silences[i], loc)
	}
	// A ${NAME} that is not set is a mistake wherever it stands, except in
	// an optional secret, where empty means "not used" (slack.app_token).
	// A secret only part of which is ${NAME} (a password in a URL) is not
	// optional.
	for path, names := range v.unset {
		partial := v.raw[path][1] != ""
		if !v.secret[path] || (partial && (!v.offline || slices.Contains(v.uses, path))) {
			v.fail(path, "${%s} is not set in the environment", names[0])
		}
	}
}

// merchant checks the merchant at merchants[i]: what its own values say
// when own is set, what depends on the other merchants, the contacts and
// the policies when others is (merchants are the names seen so far).
// Either way the problems are told in the order of a whole check, and
// own alone changes nothing another check reads.
func (v *validator) merchant(i int, m *Merchant, loc *time.Location, merchants map[string]string, own, others bool) {
	p := index("merchants", i)
	if own {
		v.displayName(p+".display_name", m.DisplayName)
	}
	// A merchant left to the others' checks alone has a valid name.
	if named := !own || v.name(p+".name", m.Name); named && others {
		if first, dup := merchants[m.Name]; dup {
			v.fail(p+".name", "another merchant is named %q (%s)", m.Name, v.where(first, p))
		} else {
			merchants[m.Name] = p + ".name"
		}
	}
	if others {
		for j, name := range m.Contacts {
			if v.contacts[name] == "" {
				v.fail(index(p+".contacts", j), "no contact is named %q", name)
			}
		}
		if v.has(p + ".policy") {
			v.policyRef(p+".policy", m.Policy)
		}
	}
	names := map[string]bool{}
	for j := range m.Checks {
		ch := &m.Checks[j]
		switch {
		case own:
			cp := checkPath(i, j)
			if v.name(cp+".name", ch.Name) {
				if names[ch.Name] {
					v.fail(cp+".name", "%s already has a check named %q", m.Name, ch.Name)
				}
				names[ch.Name] = true
			}
			v.check(cp, ch, loc, others)
		case ch.Heartbeat != nil && ch.Heartbeat.Token.Value() != "":
			v.notePingToken(checkPath(i, j)+".heartbeat", ch.Heartbeat.Token.Value(), true)
		}
	}
}

func (v *validator) name(path, name string) bool {
	if !v.required(path, name) {
		return false
	}
	if !namePattern.MatchString(name) {
		v.fail(path, "%q is not an id: an id holds only the letters a-z and A-Z, digits, '.', '_' and '-', and starts with a letter or digit%s", name, displayHint(name))
		return false
	}
	return true
}

// displayHint points a name in another script to display_name.
func displayHint(name string) string {
	for _, r := range name {
		if r > unicode.MaxASCII && unicode.IsLetter(r) {
			return "; write it in Latin letters (kim-shop) and put " + strconv.Quote(name) + " in display_name"
		}
	}
	return ""
}

// displayName checks a name shown to people: any script, one line.
func (v *validator) displayName(path, name string) {
	switch {
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.fail(path, "must be one line without control characters")
	case utf8.RuneCountInString(name) > 80:
		v.fail(path, "is %d characters long; 80 at most", utf8.RuneCountInString(name))
	case name != "" && strings.TrimSpace(name) == "":
		v.fail(path, "is blank")
	}
}

// language checks a language setting.
func (v *validator) language(path, lang string) {
	if _, ok := locale.Parse(lang); !ok {
		v.fail(path, "must be en or ko, not %q", lang)
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.fail(path, "must be longer than zero")
	}
}

func (v *validator) atLeast(path string, n, least int) {
	if n < least {
		v.fail(path, "must be at least %d", least)
	}
}

func (v *validator) absURL(path, raw string) {
	if !v.required(path, raw) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(path, "must be an absolute http or https URL")
	}
}

func (v *validator) hostPort(path, addr string, allowEmptyHost bool) {
	if !v.required(path, addr) {
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(path, "must be host:port, not %q", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || (n == 0 && !allowEmptyHost) {
		v.fail(path, "has no valid port in %q", addr)
	}
	if host == "" && !allowEmptyHost {
		v.fail(path, "has no host in %q", addr)
	}
}

// schedule parses a cron spec and stores it; the location applies to specs
// that do not name their own with CRON_TZ=.
func (v *validator) schedule(path, spec string, loc *time.Location) cron.Schedule {
	if !v.required(path, spec) {
		return nil
	}
	s, err := CronParser.Parse(spec)
	if err != nil {
		v.fail(path, "bad cron schedule %q: %v", spec, err)
		return nil
	}
	if s.Next(time.Now()).IsZero() {
		v.fail(path, "cron schedule %q never fires", spec)
		return nil
	}
	switch s := s.(type) {
	case *cron.SpecSchedule:
		if !strings.HasPrefix(spec, "TZ=") && !strings.HasPrefix(spec, "CRON_TZ=") {
			s.Location = loc
		}
	case cron.ConstantDelaySchedule:
		every, _ := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(spec, "@every")))
		if every < time.Second || every%time.Second != 0 {
			v.fail(path, "@every needs a whole number of seconds, at least 1s")
			return nil
		}
	}
	return s
}

func (v *validator) policyRef(path, name string) {
	if !v.policies[name] {
		v.fail(path, "no policy is named %q", name)
	}
}

func (v *validator) contact(path string, ct Contact) {
	if ct.Language != "" {
		v.language(path+".language", ct.Language)
	}
	if v.name(path+".name", ct.Name) {
		switch {
		case reservedContacts[ct.Name]:
			v.fail(path+".name", "%q is reserved in policies; choose another name", ct.Name)
		case v.contacts[ct.Name] != "":
			v.fail(path+".name", "another contact is named %q (%s)", ct.Name, v.where(v.contacts[ct.Name], path))
		default:
			v.contacts[ct.Name] = path + ".name"
		}
	}
	if ct.Telegram == 0 && ct.Slack == "" && ct.Webhook == "" {
		if v.has(path + ".telegram") {
			v.fail(path+".telegram", "must be a chat id, not 0")
		} else {
			v.fail(path, "needs at least one of telegram, slack, webhook")
		}
	}
	if ct.Slack != "" && !slackIDPattern.MatchString(ct.Slack) {
		v.fail(path+".slack", "must be a Slack channel id (C...) or user id (U...), not %q", ct.Slack)
	}
	if ct.Webhook != "" || v.has(path+".webhook") {
		v.absURL(path+".webhook", ct.Webhook)
	}
	if ct.WebhookSecret != "" && ct.Webhook == "" {
		v.fail(path+".webhook_secret", "is set but webhook is not")
	}
}

func (v *validator) policy(path string, p Policy) {
	if v.name(path+".name", p.Name) {
		if v.policies[p.Name] {
			v.fail(path+".name", "another policy is named %q", p.Name)
		}
		v.policies[p.Name] = true
	}
	if len(p.Steps) == 0 {
		v.fail(path+".steps", "needs at least one step")
	}
	var last time.Duration
	for i, s := range p.Steps {
		sp := index(path+".steps", i)
		if s.After.Duration < last {
			v.fail(sp+".after", "must not be earlier than the step before it (%s)", last)
		}
		last = s.After.Duration
		if len(s.Notify) == 0 {
			v.fail(sp+".notify", "must name at least one contact, owner or admins")
		}
		for j, name := range s.Notify {
			if !reservedContacts[name] && v.contacts[name] == "" {
				v.fail(index(sp+".notify", j), "no contact is named %q (or use owner, admins)", name)
			}
		}
	}
	if p.Repeat < 0 {
		v.fail(path+".repeat", "must not be negative")
	}
	if p.Repeat > 0 && len(p.Steps) > 0 && p.Period() == 0 {
		v.fail(path+".repeat", "needs a step with an after: with every step at 0 the runs would all go out at once")
	}
	if p.AckTimeout.Duration < 0 {
		v.fail(path+".ack_timeout", "must not be negative")
	}
}

func (v *validator) telegram() {
	t := v.cfg.Telegram
	if t == nil {
		return
	}
	v.required("telegram.token", t.Token.Value())
	if strings.Count(t.APIEndpoint, "%s") != 2 {
		v.fail("telegram.api_endpoint", "must hold two %%s, for the token and the method")
	} else {
		v.absURL("telegram.api_endpoint", fmt.Sprintf(t.APIEndpoint, "token", "getMe"))
	}
	switch t.Updates {
	case "polling":
	case "webhook":
		if v.required("telegram.webhook_secret", t.WebhookSecret.Value()) && !tgSecretPattern.MatchString(t.WebhookSecret.Value()) {
			v.fail("telegram.webhook_secret", "must be 1 to 256 letters, digits, '_' or '-'")
		}
		v.absURL("telegram.webhook_url", t.WebhookURL)
	default:
		v.fail("telegram.updates", "must be polling or webhook, not %q", t.Updates)
	}
}

func (v *validator) slack() {
	s := v.cfg.Slack
	if s == nil {
		return
	}
	v.required("slack.token", s.Token.Value())
	if s.AppToken == "" {
		v.required("slack.signing_secret", s.SigningSecret.Value())
	} else if !strings.HasPrefix(s.AppToken.Value(), "xapp-") {
		v.fail("slack.app_token", "must be an app-level token (xapp-...)")
	}
	v.absURL("slack.api_url", s.APIURL)
	if !strings.HasSuffix(s.APIURL, "/") {
		v.fail("slack.api_url", "must end with /")
	}
}

// check checks one check; others says whether to look for the same
// heartbeat token in another check.
func (v *validator) check(path string, ch *Check, loc *time.Location, others bool) {
	v.displayName(path+".display_name", ch.DisplayName)
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"http", ch.HTTP != nil}, {"tcp", ch.TCP != nil}, {"dns", ch.DNS != nil}, {"tls", ch.TLS != nil},
		{"heartbeat", ch.Heartbeat != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		v.fail(path, "needs one of http, tcp, dns, tls, heartbeat")
	case 1:
	default:
		v.fail(path+"."+kinds[1], "a check runs one probe, and this one already has %s", kinds[0])
	}
	if v.has(path + ".schedule") {
		ch.Cron = v.schedule(path+".schedule", ch.Schedule, loc)
	} else if s, err := CronParser.Parse(ch.Schedule); err == nil {
		if spec, ok := s.(*cron.SpecSchedule); ok {
			spec.Location = loc
		}
		ch.Cron = s
	}
	if v.has(path + ".timeout") {
		v.positive(path+".timeout", ch.Timeout.Duration)
	}
	if v.has(path+".locations") && ch.Heartbeat == nil {
		var list []string
		if ch.Locations != nil {
			list = *ch.Locations
		}
		v.placeList(path+".locations", list)
	}
	if v.has(path + ".down_after") {
		v.atLeast(path+".down_after", ch.DownAfter, 1)
	}
	if v.has(path + ".up_after") {
		v.atLeast(path+".up_after", ch.UpAfter, 1)
	}
	if v.has(path+".retry_interval") && ch.Heartbeat == nil {
		v.positive(path+".retry_interval", ch.RetryInterval.Duration)
	}
	for k := range ch.Labels {
		if k == "" {
			v.fail(path+".labels", "a label needs a name")
		}
	}
	switch {
	case ch.HTTP != nil:
		v.httpCheck(path+".http", ch.HTTP)
	case ch.TCP != nil:
		v.hostPort(path+".tcp.address", ch.TCP.Address, false)
	case ch.DNS != nil:
		v.dnsCheck(path+".dns", ch.DNS)
	case ch.TLS != nil:
		v.hostPort(path+".tls.address", ch.TLS.Address, false)
		if ch.TLS.MinDaysLeft < 0 {
			v.fail(path+".tls.min_days_left", "must not be negative")
		}
	case ch.Heartbeat != nil:
		v.heartbeat(path, ch.Heartbeat, loc, others)
	}
}

// heartbeat checks a heartbeat: when a ping is due, and that what only a
// probe has is not set on it.
func (v *validator) heartbeat(path string, h *HeartbeatCheck, loc *time.Location, others bool) {
	hp := path + ".heartbeat"
	switch {
	case v.has(hp+".period") && v.has(hp+".schedule"):
		v.fail(hp+".schedule", "a heartbeat is due every period or at the times of a schedule, not both")
	case v.has(hp + ".schedule"):
		h.Cron = v.schedule(hp+".schedule", h.Schedule, loc)
	case v.has(hp + ".period"):
		v.positive(hp+".period", h.Period.Duration)
	default:
		v.fail(hp, "needs period (a ping every 1h) or schedule (a ping by each time of \"0 3 * * *\")")
	}
	if h.Grace.Duration < 0 {
		v.fail(hp+".grace", "must not be negative")
	}
	if t := h.Token.Value(); t != "" {
		// The value is a secret: no message repeats it.
		valid := pingToken.MatchString(t)
		if !valid {
			v.fail(hp+".token", "must be 16 to 128 of A-Z a-z 0-9 - _ . ~ (it is the secret part of the ping URL)")
		}
		if others {
			v.notePingToken(hp, t, valid)
		}
	}
	for _, key := range []string{"down_after", "up_after", "retry_interval", "schedule", "timeout"} {
		if v.has(path + "." + key) {
			v.fail(path+"."+key, "does not apply to a heartbeat: it is down once a ping is grace late, and up at the next ping")
		}
	}
	if v.has(path + ".locations") {
		v.fail(path+".locations", "does not apply to a heartbeat: it is pinged, not probed from a location")
	}
}

// notePingToken notes the token t of the heartbeat at hp, having looked for
// it in the heartbeats before when find is set.
func (v *validator) notePingToken(hp, t string, find bool) {
	if other, dup := v.pingTokens[t]; dup && find {
		v.fail(hp+".token", "the same token as %s: each heartbeat needs its own", other)
	}
	if v.pingTokens == nil {
		v.pingTokens = map[string]string{}
	}
	v.pingTokens[t] = hp + ".token"
}

// source checks one intake of sources.
func (v *validator) source(path string, s Source, merchants map[string]string) {
	if s.Kind == "" || !slices.Contains(SourceKinds, s.Kind) {
		kinds := slices.Clone(SourceKinds)
		slices.Sort(kinds)
		v.fail(path+".kind", "must be one of %s, not %q", strings.Join(kinds, ", "), s.Kind)
	}
	if s.Token == "" && len(v.unset[path+".token"]) == 0 {
		v.fail(path+".token", "is needed: the token a request must carry")
	}
	if v.required(path+".merchant", s.Merchant) && merchants[s.Merchant] == "" {
		v.fail(path+".merchant", "no merchant is named %q", s.Merchant)
	}
}

func (v *validator) httpCheck(path string, h *HTTPCheck) {
	v.absURL(path+".url", h.URL)
	if !methodPattern.MatchString(h.Method) {
		v.fail(path+".method", "must be an HTTP method in capitals such as GET or HEAD, not %q", h.Method)
	}
	for i, code := range h.Status {
		if code < 100 || code > 599 {
			v.fail(index(path+".status", i), "must be an HTTP status code from 100 to 599, not %d", code)
		}
	}
	if h.MaxLatency.Duration < 0 {
		v.fail(path+".max_latency", "must not be negative")
	}
	if *h.MaxRedirects < 0 {
		v.fail(path+".max_redirects", "must not be negative")
	}
	for name := range h.Headers {
		if !headerPattern.MatchString(name) {
			v.fail(join(path+".headers", name), "is not a valid header name")
		}
	}
}

func (v *validator) dnsCheck(path string, d *DNSCheck) {
	v.required(path+".name", d.Name)
	if !dnsTypes[d.Type] {
		v.fail(path+".type", "must be A, AAAA, CNAME or MX, not %q", d.Type)
	}
	if d.Server != "" {
		if _, _, err := net.SplitHostPort(d.Server); err != nil {
			d.Server = net.JoinHostPort(strings.Trim(d.Server, "[]"), "53")
		}
		v.hostPort(path+".server", d.Server, false)
	}
}

func (v *validator) provider(path string, p Provider) {
	if len(p.Match) == 0 {
		v.fail(path+".match", "needs at least one label to match")
	} else if len(v.cfg.matching(p.Match)) == 0 {
		v.fail(path+".match", "matches no check: give the checks labels %v", p.Match)
	}
	ow := p.OutageWhen
	if ow.DownRatio < 0 || ow.DownRatio > 1 {
		v.fail(path+".outage_when.down_ratio", "must be between 0 and 1")
	}
	if ow.MinDown < 0 {
		v.fail(path+".outage_when.min_down", "must not be negative")
	}
	if ow.DownRatio == 0 && ow.MinDown == 0 {
		v.fail(path+".outage_when", "needs down_ratio, min_down or both")
	}
	if p.SLA != nil {
		v.sla(path+".sla", p.SLA)
	}
}

func (v *validator) sla(path string, s *SLA) {
	if s.MonthlyUptime <= 0 || s.MonthlyUptime > 100 {
		v.fail(path+".monthly_uptime", "must be a percentage above 0 and at most 100, such as 99.9")
	}
	if len(s.Credits) == 0 {
		v.fail(path+".credits", "needs at least one tier, such as {below: 99.9, percent: 10}")
	}
	for i, cr := range s.Credits {
		cp := index(path+".credits", i)
		switch {
		case cr.Below <= 0 || cr.Below > 100:
			v.fail(cp+".below", "must be a percentage above 0 and at most 100")
		case cr.Below > s.MonthlyUptime && s.MonthlyUptime > 0:
			v.fail(cp+".below", "%v is above the monthly_uptime promised (%v): a month that keeps the promise owes nothing", cr.Below, s.MonthlyUptime)
		case i > 0 && cr.Below >= s.Credits[i-1].Below:
			v.fail(cp+".below", "must be lower than the tier before it (%v): tiers go from the highest below down", s.Credits[i-1].Below)
		}
		if cr.Percent < 0 || cr.Percent > 100 {
			v.fail(cp+".percent", "must be from 0 to 100, not %d", cr.Percent)
		}
	}
	if s.MonthlyFee < 0 {
		v.fail(path+".monthly_fee", "must not be negative")
	}
	if s.MonthlyFee > 0 && strings.TrimSpace(s.Currency) == "" {
		v.fail(path+".currency", "is required with monthly_fee: KRW, USD, ...")
	}
	if strings.IndexFunc(s.Currency, unicode.IsControl) >= 0 || strings.IndexFunc(s.Currency, unicode.IsSpace) >= 0 {
		v.fail(path+".currency", "must be one word, such as KRW")
	}
	if s.Measure != MeasureAny && s.Measure != MeasureAll {
		v.fail(path+".measure", "must be any (down when any of the checks is) or all (down only when all are), not %q", s.Measure)
	}
	for i, name := range s.Checks {
		if !slices.ContainsFunc(v.cfg.Checks(), func(ch *Check) bool { return ch.Name == name || ch.ID == name }) {
			v.fail(index(path+".checks", i), "%q is no check of this file: name a check (web) or merchant/check", name)
		}
	}
}

func (v *validator) maintenance(path string, m *Maintenance, loc *time.Location) {
	v.name(path+".name", m.Name)
	m.Cron = v.schedule(path+".schedule", m.Schedule, loc)
	v.positive(path+".duration", m.Duration.Duration)
	if len(m.Targets) == 0 {
		v.fail(path+".targets", "needs at least one merchant, merchant/check or provider:NAME")
	}
	for i, t := range m.Targets {
		if !v.cfg.targetExists(t) {
			v.fail(index(path+".targets", i), "%q is no merchant, merchant/check or provider:NAME of this file", t)
		}
	}
}

func (v *validator) silence(path string, s *Silence, loc *time.Location) {
	if v.required(path+".target", s.Target) && !v.cfg.targetExists(s.Target) {
		v.fail(path+".target", "%q is no merchant, merchant/check or provider:NAME of this file", s.Target)
	}
	if !v.required(path+".until", s.Until) {
		return
	}
	end, err := time.Parse(time.RFC3339, s.Until)
	if err != nil {
		end, err = time.ParseInLocation("2006-01-02 15:04", s.Until, loc)
	}
	if err != nil {
		v.fail(path+".until", "%q is no time: write 2006-01-02T15:04:05+09:00 or 2006-01-02 15:04", s.Until)
		return
	}
	s.End = end
}

// matching lists the checks whose labels include every pair of match.
func (c *Config) matching(match map[string]string) []*Check {
	var out []*Check
	for _, ch := range c.Checks() {
		ok := true
		for k, want := range match {
			if ch.Labels[k] != want {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, ch)
		}
	}
	return out
}

// targetExists reports whether t names a merchant, a merchant/check or a
// provider:NAME of the configuration.
func (c *Config) targetExists(t string) bool {
	if name, ok := strings.CutPrefix(t, "provider:"); ok {
		for _, p := range c.Providers {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	for _, m := range c.Merchants {
		if m.Name == t {
			return true
		}
		for _, ch := range m.Checks {
			if ch.ID == t {
				return true
			}
		}
	}
	return false
}
