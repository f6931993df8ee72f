package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/locale"
)

// warn notes what is allowed but most likely a mistake: it does not stop
// the daemon, and validate shows it.
func (v *validator) warn(path, format string, args ...any) {
	file, shown := v.place(path)
	v.warnings = append(v.warnings, &Error{File: file, Line: v.line(path), Path: shown, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// mistakes looks for what validates but will not do what the operator
// expects: a merchant nobody hears of, an outage confirmed hours late, the
// same page probed twice.
func (v *validator) mistakes() {
	c := v.cfg
	s := &others{contacts: map[string]Contact{}, firstURL: map[string]string{}}
	for _, ct := range c.Contacts {
		s.contacts[ct.Name] = ct
	}
	for i := range c.Merchants {
		v.mistakesOf(i, &c.Merchants[i], !v.soloQuiet(i), s)
	}
	v.alone(s.alone)
}

// others is what mistakes has seen of the merchants before the one it
// looks at.
type others struct {
	contacts map[string]Contact
	firstURL map[string]string // the URL as probed → the first check probing it
	alone    []int             // the merchants with no contacts
}

// mistakesOf looks for the mistakes of the merchant at merchants[i]: of
// each of its checks alone when own is set, and of it beside the others
// when s is not nil. Without own, its HTTP checks' URLs are taken as
// probed as they are written. It says whether they are.
func (v *validator) mistakesOf(i int, m *Merchant, own bool, s *others) (asWritten bool) {
	if s != nil {
		var why []string
		reached := false
		for _, name := range m.Contacts {
			ct, ok := s.contacts[name]
			if !ok {
				continue // an error already
			}
			r, w := reaches(v.cfg, ct)
			reached = reached || r
			why = append(why, w...)
		}
		switch {
		case len(m.Contacts) == 0:
			s.alone = append(s.alone, i)
		case !reached:
			v.warn(index("merchants", i)+".contacts", "no contact of %s has an address on a configured app (%s): its alerts go only to standard output",
				m.Name, strings.Join(why, "; "))
		}
	}
	asWritten = true
	for j := range m.Checks {
		ch := &m.Checks[j]
		if own && ch.Cron != nil && ch.DownAfter > 0 {
			v.confirmation(checkPath(i, j), ch, interval(ch.Cron, v.cfg.Location))
		}
		if ch.HTTP == nil {
			continue
		}
		u := ch.HTTP.URL
		if own {
			u = normalURL(u)
			asWritten = asWritten && u == ch.HTTP.URL
		}
		if s == nil {
			continue
		}
		if first, ok := s.firstURL[u]; ok {
			v.warn(checkPath(i, j)+".http.url", "%s probes the same URL as %s", ch.ID, first)
			continue
		}
		s.firstURL[u] = ch.ID
	}
	return asWritten
}

// alone warns of the merchants with no contacts: each by name when they
// are few, in one warning when they are many (an installation that only
// records, or one whose contacts are yet to come) rather than a line for
// each of 100,000.
func (v *validator) alone(merchants []int) {
	const each = 5
	if len(merchants) <= each {
		for _, i := range merchants {
			v.warn(index("merchants", i), "%s has no contacts: its alerts go only to standard output", v.cfg.Merchants[i].Name)
		}
		return
	}
	var names []string
	for _, i := range merchants[:3] {
		names = append(names, v.cfg.Merchants[i].Name)
	}
	v.warn(index("merchants", merchants[0]), "%d merchants have no contacts (%s and %d more): their alerts go only to standard output",
		len(merchants), strings.Join(names, ", "), len(merchants)-len(names))
}

// confirmation warns of a check whose outage is confirmed more than an
// hour after it began, at worst: the first failure comes up to an interval
// late, and the rest of down_after follow an interval apart, or a
// retry_interval apart when that is shorter. It warns too of a
// retry_interval that retries nothing sooner than the schedule.
func (v *validator) confirmation(path string, ch *Check, every time.Duration) {
	if every <= 0 {
		return
	}
	d := locale.English.Duration
	wait := time.Duration(ch.DownAfter) * every
	r := ch.RetryInterval.Duration
	switch {
	case r >= every:
		v.warn(path+".retry_interval", "retry_interval %s is not shorter than the %s between probes of %s: it retries nothing sooner",
			d(r), d(every), ch.ID)
	case r > 0:
		wait = every + time.Duration(ch.DownAfter-1)*r
	}
	if wait <= time.Hour {
		return
	}
	how := fmt.Sprintf("down_after %d × %s", ch.DownAfter, d(every))
	if r > 0 && r < every {
		how = fmt.Sprintf("%s + (down_after %d - 1) × retry_interval %s", d(every), ch.DownAfter, d(r))
	}
	v.warn(path, "an outage of %s is confirmed only after %s = %s: its alerts come that late", ch.ID, how, d(wait))
}

// reaches says whether a message to ct goes to a chat app or webhook, and
// if not, why.
func reaches(c *Config, ct Contact) (bool, []string) {
	var why []string
	switch {
	case ct.Webhook != "":
		return true, nil
	case ct.Telegram != 0 && c.Telegram != nil, ct.Slack != "" && c.Slack != nil:
		return true, nil
	}
	if ct.Telegram != 0 {
		why = append(why, ct.Name+" has a telegram chat, and there is no telegram section")
	}
	if ct.Slack != "" {
		why = append(why, ct.Name+" has a slack channel, and there is no slack section")
	}
	return false, why
}

// interval is the time between two runs of a schedule, taken from a
// Monday at midnight: exact for @every, the usual gap for cron times.
func interval(s interface{ Next(time.Time) time.Time }, loc *time.Location) time.Duration {
	if loc == nil {
		loc = time.UTC
	}
	first := s.Next(time.Date(2026, 1, 5, 0, 0, 0, 0, loc))
	return s.Next(first).Sub(first)
}

// normalURL is a URL as a probe reaches it: scheme and host in lower
// case, an empty path as "/".
func normalURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String()
}
