package config

import (
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/locale"
)

// Config is a whole hostwatch configuration after defaults were applied.
type Config struct {
	Timezone  string     `yaml:"timezone"`
	Storage   Storage    `yaml:"storage"`
	Cluster   Cluster    `yaml:"cluster"`
	HTTP      HTTP       `yaml:"http"`
	Defaults  Defaults   `yaml:"defaults"`
	Telegram  *Telegram  `yaml:"telegram"`
	Slack     *Slack     `yaml:"slack"`
	Contacts  []Contact  `yaml:"contacts"`
	Admins    []string   `yaml:"admins"`
	Policies  []Policy   `yaml:"policies"`
	Merchants []Merchant `yaml:"merchants"`
	// Include names more files of merchants and contacts, as globs
	// relative to this file's directory: include: ["merchants/*.yaml"].
	Include     []string      `yaml:"include"`
	Providers   []Provider    `yaml:"providers"`
	Maintenance []Maintenance `yaml:"maintenance"`
	Silences    []Silence     `yaml:"silences"`
	Delivery    Delivery      `yaml:"delivery"`
	// Sources are the intakes other tools send alerts to: Alertmanager,
	// Grafana, anything that speaks PagerDuty's Events API v2.
	Sources []Source `yaml:"sources"`
	// Locations, Agents, Canaries and Isolation say where checks are
	// probed from: this process, and probe agents elsewhere (see
	// locations.go).
	Locations Locations `yaml:"locations"`
	Agents    []Agent   `yaml:"agents"`
	Canaries  []string  `yaml:"canaries"`
	Isolation Isolation `yaml:"isolation"`
	// Templates is a directory of templates that override the built-in
	// ones (templates/ko/message.tmpl, ...); relative to the file's
	// directory, as is a SQLite storage.dsn.
	Templates string `yaml:"templates"`

	// Location is Timezone loaded; set by Load.
	Location *time.Location `yaml:"-"`
	// Env lists the environment variables the file's secrets are read
	// from, and whether each was set; set by Load.
	Env []EnvRef `yaml:"-"`
	// Files are the files read: this one, then those it includes; set by
	// Load.
	Files []string `yaml:"-"`
	// Warnings are what is allowed but most likely a mistake, in line
	// order; set by Load.
	Warnings Errors `yaml:"-"`
}

// EnvRef is a ${NAME} in a secret of the file: a token, a password.
type EnvRef struct {
	Name string // the variable
	Key  string // where it stands: telegram.token
	Set  bool
}

// Delivery tunes the outbox dispatcher: how long to go on delivering at
// shutdown, and each platform's pacing.
type Delivery struct {
	DrainTimeout Duration `yaml:"drain_timeout"`
	Telegram     struct {
		Global Rate `yaml:"global"`
		Chat   Rate `yaml:"chat"`
		Group  Rate `yaml:"group"`
	} `yaml:"telegram"`
	Slack struct {
		Channel Rate `yaml:"channel"`
	} `yaml:"slack"`
	Webhook struct {
		Destination Rate `yaml:"destination"`
	} `yaml:"webhook"`
}

// Storage selects the store.
type Storage struct {
	Driver string `yaml:"driver"`
	DSN    Secret `yaml:"dsn"`
}

// Cluster names this instance among the daemons that share one store.
type Cluster struct {
	// Instance is this daemon's name, unique among them; the host's name
	// by default.
	Instance string `yaml:"instance"`
	// Location says where it probes from, for the record; optional.
	Location string `yaml:"location"`
}

// HTTP configures the daemon's own HTTP server.
type HTTP struct {
	Listen     string     `yaml:"listen"`
	StatusPage StatusPage `yaml:"status_page"`
	// AdminToken lets a request from another machine call POST /-/reload
	// (and read /metrics when Metrics.Protect), as a bearer token;
	// without it only this machine may.
	AdminToken Secret  `yaml:"admin_token"`
	Metrics    Metrics `yaml:"metrics"`
	// PublicURL is the address at which jobs and tools reach this
	// daemon (https://hostwatch.example.com), for the ping URLs shown to
	// people; http://LISTEN when empty.
	PublicURL string `yaml:"public_url"`
}

// Metrics configures /metrics.
type Metrics struct {
	// PerCheck serves the series labelled by check (probes, up,
	// certificate expiry); default true. Off for very large installations.
	PerCheck *bool `yaml:"per_check"`
	// Protect asks for AdminToken as a bearer token: the series name every
	// merchant and check.
	Protect bool `yaml:"protect"`
}

// PerCheckOn reports whether the series labelled by check are served.
func (m Metrics) PerCheckOn() bool { return m.PerCheck == nil || *m.PerCheck }

// StatusPage configures the status page at / and the JSON API under
// /api/v1.
type StatusPage struct {
	// Enabled serves them at all; default true.
	Enabled *bool `yaml:"enabled"`
	// Public lets anyone read them; otherwise a request needs Token, as
	// "Authorization: Bearer TOKEN" or "?token=TOKEN".
	Public bool   `yaml:"public"`
	Token  Secret `yaml:"token"`
	Title  string `yaml:"title"`
	// ShowErrors shows the errors probes saw, which can name internal
	// hosts; default false.
	ShowErrors bool `yaml:"show_errors"`
	// Merchants limits the page to these merchants; all when empty.
	Merchants []string `yaml:"merchants"`
	// Language is the page's language: en or ko; defaults.language when
	// empty.
	Language string `yaml:"language"`
}

// On reports whether the status page is served.
func (s StatusPage) On() bool { return s.Enabled == nil || *s.Enabled }

// Defaults apply to every check that does not set its own value.
type Defaults struct {
	Schedule  string   `yaml:"schedule"`
	Timeout   Duration `yaml:"timeout"`
	DownAfter int      `yaml:"down_after"`
	UpAfter   int      `yaml:"up_after"`
	GroupWait Duration `yaml:"group_wait"`
	Policy    string   `yaml:"policy"`
	Flapping  Flapping `yaml:"flapping"`
	// Language is what hostwatch speaks to a contact who names none: en
	// or ko.
	Language string `yaml:"language"`
	// RetryInterval, when set, is how soon a check is probed again while
	// a run of failures (or of successes while down) has not yet reached
	// down_after (up_after): an outage is confirmed in seconds, not in
	// intervals of the schedule.
	RetryInterval Duration `yaml:"retry_interval"`
	// Locations are where a check is probed from unless it says; every
	// location when empty. Confirm is how many must see it down.
	Locations []string `yaml:"locations"`
	Confirm   Confirm  `yaml:"confirm"`
	// FreshConnection is fresh_connection for every HTTP check that
	// does not set its own.
	FreshConnection bool `yaml:"fresh_connection"`
}

// Flapping says when a check that keeps going down and up is held as
// flapping: more than Changes state changes within Window. Changes 0 turns
// the detection off.
type Flapping struct {
	Changes int      `yaml:"changes"`
	Window  Duration `yaml:"window"`
}

// Telegram configures the Telegram bot.
type Telegram struct {
	Token         Secret `yaml:"token"`
	APIEndpoint   string `yaml:"api_endpoint"`
	Updates       string `yaml:"updates"`
	WebhookSecret Secret `yaml:"webhook_secret"`
	// WebhookURL is the public HTTPS address at which Telegram reaches
	// this daemon's /telegram/webhook (behind a reverse proxy).
	WebhookURL string `yaml:"webhook_url"`
}

// Slack configures the Slack app.
type Slack struct {
	Token         Secret `yaml:"token"`
	SigningSecret Secret `yaml:"signing_secret"`
	AppToken      Secret `yaml:"app_token"`
	APIURL        string `yaml:"api_url"`
}

// Contact is a destination for messages and a person or room allowed to
// command the bot.
type Contact struct {
	Name          string `yaml:"name"`
	Telegram      int64  `yaml:"telegram"`
	Slack         string `yaml:"slack"`
	Webhook       string `yaml:"webhook"`
	WebhookSecret Secret `yaml:"webhook_secret"`
	// Language is what hostwatch speaks to this contact: en or ko;
	// defaults.language when empty.
	Language string `yaml:"language"`
}

// Policy is an escalation policy.
type Policy struct {
	Name       string   `yaml:"name"`
	Steps      []Step   `yaml:"steps"`
	Repeat     int      `yaml:"repeat"`
	AckTimeout Duration `yaml:"ack_timeout"`
}

// Period is how long one run of the steps lasts when the policy repeats:
// its last step's after plus the gap before that step, so that with steps
// at 0 and 5m the runs start at 0, 10m, 20m. Zero when every step is at 0.
func (p Policy) Period() time.Duration {
	if len(p.Steps) == 0 {
		return 0
	}
	last := p.Steps[len(p.Steps)-1].After.Duration
	var before time.Duration
	if len(p.Steps) > 1 {
		before = p.Steps[len(p.Steps)-2].After.Duration
	}
	return last + (last - before)
}

// Step is one escalation step: whom to notify, and how long after the
// incident's start.
type Step struct {
	After  Duration `yaml:"after"`
	Notify []string `yaml:"notify"`
}

// Merchant is one owner's shop and its checks.
type Merchant struct {
	Name string `yaml:"name"`
	// DisplayName is the name people know the merchant by, in any
	// script ("김씨네 가게"); Name stays the id commands take.
	DisplayName string   `yaml:"display_name"`
	Contacts    []string `yaml:"contacts"`
	Policy      string   `yaml:"policy"`
	Checks      []Check  `yaml:"checks"`
}

// Check is one probe of a merchant's shop. Exactly one of HTTP, TCP, DNS,
// TLS and Heartbeat is set.
type Check struct {
	Name string `yaml:"name"`
	// DisplayName is the name people know the check by ("쇼핑몰 메인").
	DisplayName string            `yaml:"display_name"`
	HTTP        *HTTPCheck        `yaml:"http"`
	TCP         *TCPCheck         `yaml:"tcp"`
	DNS         *DNSCheck         `yaml:"dns"`
	TLS         *TLSCheck         `yaml:"tls"`
	Heartbeat   *HeartbeatCheck   `yaml:"heartbeat"`
	Labels      map[string]string `yaml:"labels"`
	Schedule    string            `yaml:"schedule"`
	Timeout     Duration          `yaml:"timeout"`
	DownAfter   int               `yaml:"down_after"`
	UpAfter     int               `yaml:"up_after"`
	// RetryInterval is the check's or the defaults'; zero probes only on
	// the schedule.
	RetryInterval Duration `yaml:"retry_interval"`
	// Locations are where the check is probed from: defaults.locations
	// when nil. A pointer, as most checks name none: one per check is 16
	// bytes more of 100,000.
	Locations *[]string `yaml:"locations"`

	// ID is "merchant/check"; set by Load.
	ID string `yaml:"-"`
	// Cron is Schedule parsed; set by Load.
	Cron cron.Schedule `yaml:"-"`
}

// Kind names the probe the check runs: "http", "tcp", "dns", "tls", or
// "heartbeat" for a check that is not probed but pinged.
func (c *Check) Kind() string {
	switch {
	case c.HTTP != nil:
		return "http"
	case c.TCP != nil:
		return "tcp"
	case c.DNS != nil:
		return "dns"
	case c.TLS != nil:
		return "tls"
	case c.Heartbeat != nil:
		return "heartbeat"
	}
	return ""
}

// HTTPCheck requests a URL and judges the answer.
type HTTPCheck struct {
	URL           string            `yaml:"url"`
	Method        string            `yaml:"method"`
	Headers       map[string]string `yaml:"headers"`
	Body          string            `yaml:"body"`
	Status        []int             `yaml:"status"`
	Contains      string            `yaml:"contains"`
	NotContains   string            `yaml:"not_contains"`
	MaxLatency    Duration          `yaml:"max_latency"`
	MaxRedirects  *int              `yaml:"max_redirects"`
	SkipTLSVerify bool              `yaml:"skip_tls_verify"`
	// FreshConnection opens a new connection for every probe and closes
	// it after, as a new customer does: kept-alive connections hide a
	// server whose accept queue is full.
	FreshConnection bool `yaml:"fresh_connection"`
}

// TCPCheck opens a TCP connection.
type TCPCheck struct {
	Address string `yaml:"address"`
}

// DNSCheck resolves a name.
type DNSCheck struct {
	Name   string   `yaml:"name"`
	Type   string   `yaml:"type"`
	Server string   `yaml:"server"`
	Expect []string `yaml:"expect"`
}

// TLSCheck completes a TLS handshake and looks at the certificate.
type TLSCheck struct {
	Address     string `yaml:"address"`
	ServerName  string `yaml:"server_name"`
	MinDaysLeft int    `yaml:"min_days_left"`
}

// HeartbeatCheck is a job that says it ran: it pings /ping/TOKEN, and the
// check goes down when no ping came by the time one was due plus Grace.
// One of Period and Schedule says when: every Period, or at each time of
// the cron Schedule.
type HeartbeatCheck struct {
	Period   Duration `yaml:"period"`
	Schedule string   `yaml:"schedule"`
	Grace    Duration `yaml:"grace"`
	// Token is the secret part of the ping URL; when empty, one is made
	// once and stored.
	Token Secret `yaml:"token"`

	// Cron is Schedule parsed; set by Load.
	Cron cron.Schedule `yaml:"-"`
}

// Due is when a ping is due after one at last (or after the start of the
// watch, when none came yet): a Period later, or at the next time of the
// Schedule; the check is down once Grace has passed beyond it.
func (h *HeartbeatCheck) Due(last time.Time) time.Time {
	if h.Cron != nil {
		return h.Cron.Next(last)
	}
	return last.Add(h.Period.Duration)
}

// Source is an intake that another tool sends alerts to, at
// /intake/KIND/NAME. Each alert it carries is a check of a merchant while it
// fires.
type Source struct {
	Name string `yaml:"name"`
	// Kind is the format the tool sends: alertmanager, grafana or events
	// (PagerDuty's Events API v2).
	Kind string `yaml:"kind"`
	// Token is what a request must carry: as "Authorization: Bearer",
	// or for events as the routing_key.
	Token Secret `yaml:"token"`
	// MerchantLabel is the label (for events, the key of
	// payload.custom_details) that names the merchant an alert is about;
	// Merchant is the one it goes to when that names none configured.
	MerchantLabel string `yaml:"merchant_label"`
	Merchant      string `yaml:"merchant"`
	// Public shows the source's alerts on the status page; default true.
	Public *bool `yaml:"public"`
}

// Shown reports whether the source's alerts are on the status page.
func (s Source) Shown() bool { return s.Public == nil || *s.Public }

// SourceKinds are the kinds of source hostwatch reads; each intake adds
// its own when it registers.
var SourceKinds []string

// Provider groups checks by label to see a whole hosting provider fail.
type Provider struct {
	Name       string            `yaml:"name"`
	Match      map[string]string `yaml:"match"`
	OutageWhen OutageWhen        `yaml:"outage_when"`
	// SLA is what the provider promised and what it owes when it misses
	// it; nil when the file says nothing of it.
	SLA *SLA `yaml:"sla"`
}

// SLA is a provider's promise of monthly uptime and the credits it owes
// a merchant for the months it misses it.
type SLA struct {
	// MonthlyUptime is the uptime promised, in percent: 99.9.
	MonthlyUptime float64 `yaml:"monthly_uptime"`
	// Credits are the tiers, by below from the highest down: a month
	// under a tier's below owes its percent of the fee, the lowest tier
	// missed counting.
	Credits []Credit `yaml:"credits"`
	// MonthlyFee is what the merchant pays a month, in whole units of
	// Currency.
	MonthlyFee int64  `yaml:"monthly_fee"`
	Currency   string `yaml:"currency"`
	// Checks are the merchant's checks the SLA covers, by name ("web")
	// or id ("kim-shop/web"); the provider's checks when empty.
	Checks []string `yaml:"checks"`
	// ExcludeMaintenance leaves the recorded maintenance windows out of
	// the downtime; default true.
	ExcludeMaintenance *bool `yaml:"exclude_maintenance"`
	// Measure is when the merchant counts as down: "any" of the checks
	// down, or "all" of them.
	Measure string `yaml:"measure"`
}

// Credit is one tier of an SLA.
type Credit struct {
	Below   float64 `yaml:"below"`
	Percent int     `yaml:"percent"`
}

// The ways an SLA measures several checks.
const (
	MeasureAny = "any"
	MeasureAll = "all"
)

// ExcludesMaintenance reports whether maintenance windows are left out.
func (s *SLA) ExcludesMaintenance() bool {
	return s.ExcludeMaintenance == nil || *s.ExcludeMaintenance
}

// UnderSLA reports whether p's SLA covers check (merchant/check): a check the
// SLA names, or without names one of the provider's.
func (c *Config) UnderSLA(p *Provider, check *Check) bool {
	if p.SLA == nil {
		return false
	}
	if len(p.SLA.Checks) == 0 {
		return slices.Contains(c.Matching(p.Match), check.ID)
	}
	return slices.ContainsFunc(p.SLA.Checks, func(name string) bool { return name == check.Name || name == check.ID })
}

// SLAChecks lists the checks of merchant that p's SLA covers, in config
// order.
func (c *Config) SLAChecks(p *Provider, merchant string) []*Check {
	var out []*Check
	for _, ch := range c.Checks() {
		if m, _, _ := strings.Cut(ch.ID, "/"); m == merchant && c.UnderSLA(p, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Provider returns the provider named name, or nil.
func (c *Config) Provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
}

// OutageWhen says when enough of a provider's checks are down to call it an
// outage of the provider.
type OutageWhen struct {
	DownRatio float64 `yaml:"down_ratio"`
	MinDown   int     `yaml:"min_down"`
}

// Maintenance is a recurring window during which messages are held.
type Maintenance struct {
	Name     string   `yaml:"name"`
	Schedule string   `yaml:"schedule"`
	Duration Duration `yaml:"duration"`
	Targets  []string `yaml:"targets"`

	// Cron is Schedule parsed; set by Load.
	Cron cron.Schedule `yaml:"-"`
}

// Window returns the window of m that holds t, if one does.
func (m *Maintenance) Window(t time.Time) (start, end time.Time, ok bool) {
	// The first opening after t-duration opens a window that is still
	// open at t, if that opening is not after t.
	s := m.Cron.Next(t.Add(-m.Duration.Duration))
	if s.IsZero() || s.After(t) {
		return time.Time{}, time.Time{}, false
	}
	return s, s.Add(m.Duration.Duration), true
}

// Silence holds the messages about a target until a time: set in the
// file for a planned move, or by a chat command.
type Silence struct {
	// Target is merchant/check, merchant or provider:NAME.
	Target string `yaml:"target"`
	// Until is when the silence ends: RFC 3339, or "2006-01-02 15:04" in
	// the configured time zone.
	Until  string `yaml:"until"`
	Reason string `yaml:"reason"`

	// End is Until parsed; set by Load.
	End time.Time `yaml:"-"`
}

// Matching lists the IDs of the checks whose labels include every pair of
// match.
func (c *Config) Matching(match map[string]string) []string {
	var out []string
	for _, ch := range c.matching(match) {
		out = append(out, ch.ID)
	}
	return out
}

// Checks lists every check of every merchant, in config order.
func (c *Config) Checks() []*Check {
	var out []*Check
	for i := range c.Merchants {
		for j := range c.Merchants[i].Checks {
			out = append(out, &c.Merchants[i].Checks[j])
		}
	}
	return out
}

// Names are the display names of the merchants (by id) and checks (by
// "merchant/check") that have one.
func (c *Config) Names() locale.Names {
	names := locale.Names{}
	for _, m := range c.Merchants {
		if m.DisplayName != "" {
			names[m.Name] = m.DisplayName
		}
		for _, ch := range m.Checks {
			if ch.DisplayName != "" {
				names[m.Name+"/"+ch.Name] = ch.DisplayName
			}
		}
	}
	return names
}

// Language is the language of the contact named name, or the default.
func (c *Config) Language(name string) string {
	for _, ct := range c.Contacts {
		if ct.Name == name && ct.Language != "" {
			return ct.Language
		}
	}
	return c.Defaults.Language
}
