package incident

import (
	"slices"
	"strconv"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/notifier"
)

// ConfigRouter routes by the configuration: a check's messages go to its
// merchant's contacts, on every platform that has a notifier. With no chat
// platform, or no destination at all, they go to the console, so nothing
// goes unseen.
type ConfigRouter struct {
	byMerchant map[string][]string
	admins     []string
	editable   map[string]bool // platforms
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
	r := &ConfigRouter{byMerchant: map[string][]string{}, admins: destinations(cfg.Admins), editable: map[string]bool{}}
	for _, m := range cfg.Merchants {
		r.byMerchant[m.Name] = destinations(m.Contacts)
	}
	for _, p := range editable {
		r.editable[p] = true
	}
	return r
}

// Destinations are where messages about check go.
func (r *ConfigRouter) Destinations(check string) []string {
	return r.byMerchant[merchant(check)]
}

// Admins are the admins' destinations.
func (r *ConfigRouter) Admins() []string { return r.admins }

// Editable reports whether dest's platform can edit a sent message.
func (r *ConfigRouter) Editable(dest string) bool {
	platform, _ := notifier.SplitDestination(dest)
	return r.editable[platform]
}
