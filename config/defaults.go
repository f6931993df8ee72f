package config

import (
	"os"
	"strconv"
	"time"
)

// The defaults, in one place.
const (
	DefaultTimezone     = "Local"
	DefaultDriver       = "sqlite"
	DefaultSQLiteDSN    = "hostwatch.db"
	DefaultListen       = "127.0.0.1:8080"
	DefaultSchedule     = "@every 30s"
	DefaultTimeout      = 10 * time.Second
	DefaultDownAfter    = 3
	DefaultUpAfter      = 2
	DefaultGroupWait    = 10 * time.Second
	DefaultLanguage     = "en"
	DefaultPolicy       = "default"
	DefaultTelegramAPI  = "https://api.telegram.org/bot%s/%s"
	DefaultUpdates      = "polling"
	DefaultSlackAPI     = "https://slack.com/api/"
	DefaultMaxRedirects = 10
	DefaultDNSType      = "A"
	DefaultHTTPMethod   = "GET"
	DefaultMeasure      = MeasureAny
	DefaultDrainTimeout = 10 * time.Second
	DefaultFlapChanges  = 6
	DefaultFlapWindow   = 30 * time.Minute
	// DefaultHeartbeatGrace is how late a ping may be before its check
	// is down, when the check does not say.
	DefaultHeartbeatGrace = time.Minute
)

// The platforms' published limits, the default pacing.
var (
	DefaultTelegramGlobal = Rate{N: 30, Per: time.Second}
	DefaultTelegramChat   = Rate{N: 1, Per: time.Second}
	DefaultTelegramGroup  = Rate{N: 20, Per: time.Minute}
	DefaultSlackChannel   = Rate{N: 1, Per: time.Second}
	DefaultWebhook        = Rate{N: 10, Per: time.Second}
)

// applyDefaults fills what the file left unset. Checks inherit the defaults
// section; validation later reports a bad inherited value once, at defaults.
func applyDefaults(c *Config, has func(path string) bool) {
	fill(&c.Timezone, DefaultTimezone)
	fill(&c.Storage.Driver, DefaultDriver)
	if c.Storage.DSN == "" && c.Storage.Driver == "sqlite" {
		c.Storage.DSN = DefaultSQLiteDSN
	}
	if c.Cluster.Instance == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "hostwatch"
		}
		c.Cluster.Instance = host
	}
	fill(&c.HTTP.Listen, DefaultListen)
	if !has("http.status_page.public") {
		c.HTTP.StatusPage.Public = true
	}
	fill(&c.HTTP.StatusPage.Title, "Status")
	if !has("isolation.ratio") {
		c.Isolation.Ratio = DefaultIsolationRatio
	}
	if !has("isolation.silence") {
		c.Isolation.Silence.Duration = DefaultSilence
	}

	df := &c.Defaults
	fill(&df.Schedule, DefaultSchedule)
	if !has("defaults.timeout") {
		df.Timeout.Duration = DefaultTimeout
	}
	if !has("defaults.down_after") {
		df.DownAfter = DefaultDownAfter
	}
	if !has("defaults.up_after") {
		df.UpAfter = DefaultUpAfter
	}
	if !has("defaults.group_wait") {
		df.GroupWait.Duration = DefaultGroupWait
	}
	fill(&df.Policy, DefaultPolicy)
	fill(&df.Language, DefaultLanguage)
	if !has("defaults.flapping.changes") {
		df.Flapping.Changes = DefaultFlapChanges
	}
	if !has("defaults.flapping.window") {
		df.Flapping.Window.Duration = DefaultFlapWindow
	}

	dl := &c.Delivery
	if !has("delivery.drain_timeout") {
		dl.DrainTimeout.Duration = DefaultDrainTimeout
	}
	setRate := func(r *Rate, v Rate) {
		if r.N == 0 {
			*r = v
		}
	}
	setRate(&dl.Telegram.Global, DefaultTelegramGlobal)
	setRate(&dl.Telegram.Chat, DefaultTelegramChat)
	setRate(&dl.Telegram.Group, DefaultTelegramGroup)
	setRate(&dl.Slack.Channel, DefaultSlackChannel)
	setRate(&dl.Webhook.Destination, DefaultWebhook)

	if t := c.Telegram; t != nil {
		fill(&t.APIEndpoint, DefaultTelegramAPI)
		fill(&t.Updates, DefaultUpdates)
	}
	if s := c.Slack; s != nil {
		fill(&s.APIURL, DefaultSlackAPI)
	}
	for i := range c.Providers {
		if sla := c.Providers[i].SLA; sla != nil {
			fill(&sla.Measure, DefaultMeasure)
		}
	}
	for i := range c.Merchants {
		defaultMerchant(&c.Merchants[i], i, df, has)
	}
}

// defaultMerchant fills what the file left unset in the merchant at
// merchants[i] from the defaults section, df already defaulted.
func defaultMerchant(m *Merchant, i int, df *Defaults, has func(path string) bool) {
	fill(&m.Policy, df.Policy)
	for j := range m.Checks {
		ch := &m.Checks[j]
		p := checkPath(i, j)
		ch.ID = m.Name + "/" + ch.Name
		fill(&ch.Schedule, df.Schedule)
		if !has(p + ".timeout") {
			ch.Timeout = df.Timeout
		}
		if !has(p + ".down_after") {
			ch.DownAfter = df.DownAfter
		}
		if !has(p + ".up_after") {
			ch.UpAfter = df.UpAfter
		}
		if !has(p + ".retry_interval") {
			ch.RetryInterval = df.RetryInterval
		}
		if h := ch.HTTP; h != nil {
			fill(&h.Method, DefaultHTTPMethod)
			if h.MaxRedirects == nil {
				n := DefaultMaxRedirects
				h.MaxRedirects = &n
			}
			if !has(p + ".http.fresh_connection") {
				h.FreshConnection = df.FreshConnection
			}
		}
		if d := ch.DNS; d != nil {
			fill(&d.Type, DefaultDNSType)
		}
		if ch.Heartbeat != nil {
			// No ping by the time due plus grace is down at once, and
			// the next ping is up.
			ch.DownAfter, ch.UpAfter = 1, 1
			ch.RetryInterval = Duration{}
			if !has(p + ".heartbeat.grace") {
				ch.Heartbeat.Grace.Duration = DefaultHeartbeatGrace
			}
		}
	}
}

// fill sets s to v where the file left it empty.
func fill(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func checkPath(merchant, check int) string {
	return "merchants[" + strconv.Itoa(merchant) + "].checks[" + strconv.Itoa(check) + "]"
}
