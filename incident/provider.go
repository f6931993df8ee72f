package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
)

// downOf counts the provider's checks that have an open incident. It is
// counted once per change of the open incidents: a provider's outage tells
// every one of thousands of alerts the count.
func (e *Engine) downOf(p Provider) int {
	if c, ok := e.downCache[p.Name]; ok && c.version == e.openVersion {
		return c.down
	}
	n := 0
	for _, c := range p.Checks {
		if e.open[c] != nil {
			n++
		}
	}
	e.downCache[p.Name] = downCount{version: e.openVersion, down: n}
	return n
}

// downCount is a provider's count of checks down at one version of the
// open incidents.
type downCount struct {
	version uint64
	down    int
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
		down := e.downOf(prov)
		a := e.byProvider[prov.Name]
		switch {
		case a == nil && prov.outage(down):
			a = &alert{Alert: store.Alert{Scope: store.ScopeProvider, Name: prov.Name, Opened: p.now,
				FlushAt: p.now.Add(e.rules.GroupWait), NextAt: p.now.Add(e.rules.GroupWait), Triggered: p.now,
				Peak: down, Since: p.now}, known: true}
			for _, c := range prov.Checks {
				if m := e.open[c]; m != nil {
					a.Since = minTime(a.Since, m.start)
				}
			}
			if err := p.save(a); err != nil {
				return err
			}
			p.dirty[a.ID] = a
			p.touchProvider(prov)
			e.log.Warn("provider outage", "provider", prov.Name, "down", down, "of", len(prov.Checks))
		case a != nil && !prov.outage(down):
			if !a.Base.IsZero() {
				m := notifier.Message{Kind: notifier.ProviderUp, Alert: a.ID, Start: a.Since, End: p.now,
					Provider: &notifier.ProviderOutage{Name: prov.Name, Down: a.Peak, Of: len(prov.Checks), Since: a.Since, End: p.now}}
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

// touchProvider marks the alerts of the merchants with a check of prov
// for settling.
func (p *pass) touchProvider(prov Provider) {
	for _, c := range prov.Checks {
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
	m := notifier.Message{Kind: notifier.ProviderDown, Alert: a.ID, Start: a.Since, AckBy: a.AckBy, AckAt: a.AckAt,
		Provider: &notifier.ProviderOutage{Name: a.Name, Down: p.e.downOf(prov), Of: len(prov.Checks), Since: a.Since}}
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
