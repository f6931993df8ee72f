package incident_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestOutages: a provider's open alert is an outage in progress, with its
// checks that have an open incident counted; a merchant's alert, a closed
// one and one of a provider gone from the configuration are not.
func TestOutages(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hosted := []string{"kim-shop/web", "lee-shop/web", "park-shop/web"}
	if err := db.Register(ctx, append(hosted, "kim-shop/db")); err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		for _, c := range []string{"kim-shop/web", "lee-shop/web", "kim-shop/db"} {
			if _, _, err := tx.OpenIncident(ctx, c, t0, t0); err != nil {
				return err
			}
		}
		for _, a := range []store.Alert{
			{Scope: store.ScopeProvider, Name: "examplehost", Opened: t0, Triggered: t0, Since: t0, Peak: 2},
			{Scope: store.ScopeMerchant, Name: "kim-shop", Opened: t0, Triggered: t0},
			{Scope: store.ScopeProvider, Name: "gonehost", Opened: t0, Triggered: t0},
			{Scope: store.ScopeProvider, Name: "otherhost", Opened: t0, Triggered: t0, Closed: t0},
		} {
			if err := tx.SaveAlert(ctx, &a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := incident.Rules{Providers: []incident.Provider{
		{Name: "examplehost", Checks: hosted}, {Name: "otherhost", Checks: []string{"kim-shop/db"}}}}
	got, err := rules.Outages(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Provider != "examplehost" || got[0].Down != 2 || got[0].Of != 3 || !got[0].Since.Equal(t0) {
		t.Errorf("outages: %+v", got)
	}
}
