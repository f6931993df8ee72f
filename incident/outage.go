package incident

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// Outage is a provider's outage in progress: Down of its Of checks have an
// open incident now.
type Outage struct {
	Provider string
	// Checks are the provider's checks, so that a page limited to some
	// merchants can tell whether the outage touches them.
	Checks   []string
	Down, Of int
	Since    time.Time
}

// outageReader is the part of the store Outages reads.
type outageReader interface {
	OpenAlerts(ctx context.Context) ([]store.Alert, error)
	CheckStates(ctx context.Context) (map[string]store.CheckState, error)
	Origins(ctx context.Context) (map[string]store.Origin, error)
}

// Outages lists the providers' outages in progress as the store has them:
// every instance can tell, not only the one whose engine decides. Each is
// an open provider alert, with its checks down counted as the engine
// counts them, by open incident.
func (r *Rules) Outages(ctx context.Context, st outageReader) ([]Outage, error) {
	alerts, err := st.OpenAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("providers' outages: %w", err)
	}
	var out []Outage
	var states map[string]store.CheckState
	for _, a := range alerts {
		prov, ok := r.provider(a.Name)
		if a.Scope != store.ScopeProvider || !ok {
			continue
		}
		if states == nil {
			if states, err = st.CheckStates(ctx); err != nil {
				return nil, fmt.Errorf("providers' outages: %w", err)
			}
			all, err := st.Origins(ctx)
			if err != nil {
				return nil, fmt.Errorf("providers' outages: %w", err)
			}
			r.origins.set(all)
		}
		o := Outage{Provider: prov.Name, Checks: prov.Checks, Of: len(prov.Checks), Since: a.Since}
		for _, c := range prov.Checks {
			if states[c].Incident != 0 {
				o.Down++
			}
		}
		for _, c := range r.origins.labelled(prov.Match) {
			if states[c].Incident != 0 {
				o.Checks = append(slices.Clip(o.Checks), c)
				o.Down++
				o.Of++
			}
		}
		out = append(out, o)
	}
	return out, nil
}
