package incident

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/source"
)

// ConfigRouter routes by the configuration: a check's messages go to its
// merchant's contacts, on every platform that has a notifier. With no chat
// platform, or no destination at all, they go to the console, so nothing
// goes unseen.
type ConfigRouter struct {
	byMerchant map[string][]string
	byContact  map[string][]string
	admins     []string
	editable   map[string]bool // platforms
	// langs is the language of each destination: its contact's.
	langs map[string]locale.Lang
	lang  locale.Lang // everyone else's
}

// NewRouter builds a router for cfg. platforms are those with a notifier;
// editable those whose messages can be edited later.
func NewRouter(cfg *config.Config, platforms, editable []string) *ConfigRouter {
	has := func(p string) bool { return slices.Contains(platforms, p) }
	chat := has("telegram") || has("slack")
	contacts := map[string]config.Contact{}
	for _, c := range cfg.Contacts {
		contacts[c.Name] = c
	}
	destinations := func(names []string) []string {
		var out []string
		add := func(d string) {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
		for _, name := range names {
			c := contacts[name]
			if c.Telegram != 0 && has("telegram") {
				add(notifier.Destination("telegram", strconv.FormatInt(c.Telegram, 10)))
			}
			if c.Slack != "" && has("slack") {
				add(notifier.Destination("slack", c.Slack))
			}
			if c.Webhook != "" && has("webhook") {
				add(notifier.Destination("webhook", c.Name))
			}
		}
		// Nothing goes unseen: with no chat app, or no address on one for
		// these contacts, the console has it.
		if (!chat || len(out) == 0) && has("console") {
			add(notifier.Destination("console", ""))
		}
		return out
	}
	r := &ConfigRouter{byContact: map[string][]string{},
		admins: destinations(cfg.Admins), editable: map[string]bool{}, langs: map[string]locale.Lang{}}
	r.lang, _ = locale.Parse(cfg.Defaults.Language)
	r.lang = r.lang.Or(locale.English)
	for _, c := range cfg.Contacts {
		r.byContact[c.Name] = destinations([]string{c.Name})
		lang, ok := locale.Parse(c.Language)
		if !ok {
			continue
		}
		for _, d := range r.byContact[c.Name] {
			if _, taken := r.langs[d]; !taken && !strings.HasPrefix(d, "console:") {
				r.langs[d] = lang // two contacts sharing a group chat: the first says
			}
		}
	}
	// Merchants naming the same contacts share one list: at 100,000
	// merchants in a few teams' hands, that is a list per team, not per
	// merchant.
	lists := map[string][]string{}
	r.byMerchant = make(map[string][]string, len(cfg.Merchants))
	for _, m := range cfg.Merchants {
		key := strings.Join(m.Contacts, "\x00")
		ds, ok := lists[key]
		if !ok {
			ds = destinations(m.Contacts)
			lists[key] = ds
		}
		r.byMerchant[m.Name] = ds
	}
	for _, p := range editable {
		r.editable[p] = true
	}
	return r
}

// Language is what the reader at destination dest speaks.
func (r *ConfigRouter) Language(dest string) locale.Lang {
	if l, ok := r.langs[dest]; ok {
		return l
	}
	return r.lang
}

// Notify lists the destinations of the contacts an escalation step names
// for merchant: owner is the merchant's contacts, admins the admins.
func (r *ConfigRouter) Notify(merchant string, names []string) []string {
	var out []string
	for _, name := range names {
		var ds []string
		switch name {
		case "owner":
			ds = r.byMerchant[merchant]
		case "admins":
			ds = r.admins
		default:
			ds = r.byContact[name]
		}
		for _, d := range ds {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

// Admins are the admins' destinations.
func (r *ConfigRouter) Admins() []string { return r.admins }

// Editable reports whether dest's platform can edit a sent message.
func (r *ConfigRouter) Editable(dest string) bool {
	platform, _ := notifier.SplitDestination(dest)
	return r.editable[platform]
}

// Rules are what the configuration says about telling people: how long to
// collect failures, whom to escalate to, which checks make a provider,
// when to hold messages.
type Rules struct {
	GroupWait time.Duration
	// Policies are the merchants' policies, by merchant, where it is not
	// Default, that of defaults.policy.
	Policies    map[string]config.Policy
	Default     config.Policy
	Checks      map[string]int // by merchant: how many checks it has
	Providers   []Provider
	Maintenance []config.Maintenance
	Silences    []config.Silence
	Flapping    config.Flapping
	// Location is the time zone of the times in messages.
	Location *time.Location
	// targets are the checks and providers a silence may name (a
	// merchant is one of Checks); sources the configured sources, whose
	// alerts (merchant/source/key) may be silenced too.
	targets, sources map[string]bool
	// origins are what the sources said of the checks they reported,
	// as the engine last read them: shared by the copies of the rules.
	origins *origins
}

// Provider is a hosting provider: the checks its label selects and when
// enough of them are down to call it an outage.
type Provider struct {
	Name      string
	Checks    []string
	DownRatio float64
	MinDown   int
	// Match is the labels that select its checks, and the alerts of
	// sources that are its.
	Match map[string]string
	// has holds Checks, for a lookup that does not grow with them.
	has map[string]bool
}

// Has reports whether check is one of the provider's.
func (p Provider) Has(check string) bool {
	if p.has == nil {
		return slices.Contains(p.Checks, check)
	}
	return p.has[check]
}

// outage reports whether c of the provider's checks down make an outage.
func (p Provider) outage(c downCount) bool {
	if c.down == 0 || (p.MinDown > 0 && c.down < p.MinDown) {
		return false
	}
	return p.DownRatio == 0 || float64(c.down) >= p.DownRatio*float64(c.of)
}

// RulesFrom reads the rules of cfg.
func RulesFrom(cfg *config.Config) Rules {
	r := Rules{
		GroupWait: cfg.Defaults.GroupWait.Duration, Policies: map[string]config.Policy{}, Checks: map[string]int{},
		Maintenance: cfg.Maintenance, Silences: cfg.Silences, Flapping: cfg.Defaults.Flapping, Location: cfg.Location,
		targets: map[string]bool{}, sources: map[string]bool{}, origins: &origins{},
	}
	for _, s := range cfg.Sources {
		r.sources[s.Name] = true
	}
	policies := map[string]config.Policy{config.DefaultPolicy: config.BuiltinPolicy}
	for _, p := range cfg.Policies {
		policies[p.Name] = p
	}
	r.Default = policies[cfg.Defaults.Policy]
	for _, m := range cfg.Merchants {
		if m.Policy != cfg.Defaults.Policy {
			r.Policies[m.Name] = policies[m.Policy]
		}
		r.Checks[m.Name] = len(m.Checks)
		for _, c := range m.Checks {
			r.targets[c.ID] = true
		}
	}
	for _, p := range cfg.Providers {
		pr := Provider{Name: p.Name, Checks: cfg.Matching(p.Match), DownRatio: p.OutageWhen.DownRatio,
			MinDown: p.OutageWhen.MinDown, Match: p.Match, has: map[string]bool{}}
		for _, c := range pr.Checks {
			pr.has[c] = true
		}
		r.Providers = append(r.Providers, pr)
		r.targets["provider:"+p.Name] = true
	}
	return r
}

// clock renders a time in a message: "14:02 KST".
func (r *Rules) clock(t time.Time) string {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("15:04 MST")
}

// policy is merchant's escalation policy.
func (r *Rules) policy(merchant string) config.Policy {
	if p, ok := r.Policies[merchant]; ok {
		return p
	}
	if _, known := r.Checks[merchant]; known && r.Default.Name != "" {
		return r.Default
	}
	return config.BuiltinPolicy
}

func (r *Rules) provider(name string) (Provider, bool) {
	for _, p := range r.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// Target reports whether t names a merchant, a check, a provider or an
// alert of a configured source that can be silenced.
func (r *Rules) Target(t string) bool {
	known := func(t string) bool {
		_, isMerchant := r.Checks[t]
		return isMerchant || r.targets[t]
	}
	return known(t) || (r.sources[source.SourceOf(t)] && known(merchant(t)))
}

// Covers reports whether target (merchant/check, merchant or
// provider:NAME) includes check.
func (r *Rules) Covers(target, check string) bool {
	if target == check || target == merchant(check) {
		return true
	}
	name, ok := strings.CutPrefix(target, "provider:")
	if !ok {
		return false
	}
	p, ok := r.provider(name)
	return ok && r.inProvider(p, check)
}

// inProvider reports whether check is one of p's: selected by its match,
// or an alert of a source labelled as its.
func (r *Rules) inProvider(p Provider, check string) bool {
	return p.Has(check) || r.origins.matches(check, p.Match)
}
