package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
)

// downOf counts the provider's checks that have an open incident, and how
// many checks it has: those its match selects of the configuration, and
// the alerts of sources labelled as its that fire now. It is counted once
// per change of the open incidents: a provider's outage tells every one of
// thousands of alerts the count.
func (e *Engine) downOf(p Provider) downCount {
	if c, ok := e.downCache[p.Name]; ok && c.version == e.openVersion {
		return c
	}
	c := downCount{version: e.openVersion, of: len(p.Checks)}
	for _, ch := range p.Checks {
		if e.open[ch] != nil {
			c.down++
		}
	}
	for _, ch := range e.rules.origins.labelled(p.Match) {
		if e.open[ch] != nil {
			c.down++
			c.of++
		}
	}
	e.downCache[p.Name] = c
	return c
}

// downCount is a provider's count of checks down, of how many, at one
// version of the open incidents.
type downCount struct {
	version  uint64
	down, of int
}

// correlate opens a provider's outage when enough of its checks are down,
// and ends it when they no longer are. The merchants' alerts it touches are
// settled again, so that their messages name it.
func (p *pass) correlate() error {
	e := p.e
	for _, name := range sortedKeys(e.byProvider) {
		if _, ok := e.rules.provider(name); !ok {
			// Gone from the configuration: nothing can end it but this.
			a := e.byProvider[name]
			a.Closed, a.NextAt = p.now, time.Time{}
			if err := p.save(a); err != nil {
				return err
			}
			delete(e.alerts, a.ID)
			delete(e.byProvider, name)
			delete(p.dirty, a.ID)
		}
	}
	for _, prov := range e.rules.Providers {
		count := e.downOf(prov)
		down := count.down
		a := e.byProvider[prov.Name]
		switch {
		case a == nil && prov.outage(count):
			a = &alert{Alert: store.Alert{Scope: store.ScopeProvider, Name: prov.Name, Opened: p.now,
				FlushAt: p.now.Add(e.rules.GroupWait), NextAt: p.now.Add(e.rules.GroupWait), Triggered: p.now,
				Peak: down, Since: p.now}, known: true}
			for _, c := range e.providerChecks(prov) {
				if m := e.open[c]; m != nil {
					a.Since = minTime(a.Since, m.start)
				}
			}
			if err := p.save(a); err != nil {
				return err
			}
			p.dirty[a.ID] = a
			p.touchProvider(prov)
			e.log.Warn("provider outage", "provider", prov.Name, "down", down, "of", count.of)
		case a != nil && !prov.outage(count):
			if !a.Base.IsZero() {
				m := notifier.Message{Kind: notifier.ProviderUp, Alert: a.ID, Start: a.Since, End: p.now,
					Provider: &notifier.ProviderOutage{Name: prov.Name, Down: a.Peak,
						// The alerts of sources that fired are gone from
						// the count by now: never fewer than the peak.
						Of: max(count.of, a.Peak), Since: a.Since, End: p.now}}
				if err := p.tell(a, m, true); err != nil {
					return err
				}
			}
			a.Closed, a.NextAt = p.now, time.Time{}
			if err := p.save(a); err != nil {
				return err
			}
			delete(e.alerts, a.ID)
			delete(e.byProvider, prov.Name)
			delete(p.dirty, a.ID)
			p.touchProvider(prov)
		case a != nil:
			if down > a.Peak {
				a.Peak = down
				if err := p.save(a); err != nil {
					return err
				}
			}
			p.dirty[a.ID] = a
		}
	}
	return nil
}

// providerChecks are the provider's checks and the alerts of sources
// labelled as its.
func (e *Engine) providerChecks(prov Provider) []string {
	return append(slices.Clip(prov.Checks), e.rules.origins.labelled(prov.Match)...)
}

// touchProvider marks the alerts of the merchants with a check of prov
// for settling.
func (p *pass) touchProvider(prov Provider) {
	for _, c := range p.e.providerChecks(prov) {
		if a := p.e.byMerchant[merchant(c)]; a != nil {
			p.dirty[a.ID] = a
		}
	}
}

// settleProvider sends a provider's outage to the admins once group_wait
// is over, unless it is silenced, and keeps that message's count of checks
// down up to date.
func (p *pass) settleProvider(a *alert) error {
	before := a.Alert
	prov, _ := p.e.rules.provider(a.Name)
	count := p.e.downOf(prov)
	m := notifier.Message{Kind: notifier.ProviderDown, Alert: a.ID, Start: a.Since, AckBy: a.AckBy, AckAt: a.AckAt,
		Provider: &notifier.ProviderOutage{Name: a.Name, Down: count.down, Of: count.of, Since: a.Since}}
	if s := p.longestSilence(func(target string) bool { return target == "provider:"+a.Name }); s != nil {
		m.Silenced = &notifier.Silenced{By: s.By, Until: s.End}
	}
	told := fmt.Sprintf("%d|%s", m.Provider.Down, a.AckBy) + silencedMark(m.Silenced)
	switch {
	case !a.FlushAt.IsZero() && p.now.Before(a.FlushAt):
		a.NextAt = a.FlushAt
	case a.Base.IsZero():
		a.FlushAt, a.NextAt = time.Time{}, time.Time{}
		if why := p.e.heldTarget("provider:"+a.Name, p.now); why != "" {
			break // a silence's end wakes the engine
		}
		a.Base, a.Told = p.now, told
		if err := p.send(a, m, p.e.o.Router.Admins(), nil); err != nil {
			return err
		}
	case told != a.Told:
		if err := p.tell(a, m, false); err != nil {
			return err
		}
		a.Told = told // a provider's own fingerprint: its count and who acknowledged
	}
	if a.Alert != before {
		return p.save(a)
	}
	return nil
}

// heldTarget says why messages about target itself (a provider:NAME) are
// held now, or "" if they are not.
func (e *Engine) heldTarget(target string, now time.Time) string {
	for _, s := range e.activeSilences(now) {
		if s.Target == target {
			return silenceReason(s)
		}
	}
	for _, mw := range e.rules.Maintenance {
		if _, end, ok := mw.Window(now); ok {
			for _, t := range mw.Targets {
				if strings.EqualFold(t, target) {
					return fmt.Sprintf("maintenance %s until %s", mw.Name, end.Format("15:04"))
				}
			}
		}
	}
	return ""
}
