package storetest

import (
	"context"
	"maps"
	"testing"

	"github.com/hostwatch/hostwatch/store"
)

// testOrigins: what a source said of a check it reported is read back by
// every handle, the last word kept; checks no source reported have none.
func testOrigins(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a := registered(t, open)
	key := "shop/prom/9f2c4e1a"
	if err := a.Register(ctx, []string{key}); err != nil {
		t.Fatal(err)
	}
	first := store.Origin{Source: "prom", Title: "prom/HighErrorRate", Labels: map[string]string{"alertname": "HighErrorRate", "provider": "examplehost"}, Summary: "5xx above 5%"}
	update(t, a, func(ctx context.Context, tx store.Tx) error { return tx.SetOrigin(ctx, key, first) })
	last := first
	last.Summary = "5xx above 20%"
	update(t, a, func(ctx context.Context, tx store.Tx) error { return tx.SetOrigin(ctx, key, last) })

	b := open(t)
	got, err := b.Origins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("origins = %v, want only %s's", got, key)
	}
	o := got[key]
	if o.Source != last.Source || o.Title != last.Title || o.Summary != last.Summary || !maps.Equal(o.Labels, last.Labels) {
		t.Errorf("origin = %+v, want %+v", o, last)
	}
}

// testPingTokens: a check's ping token is made once; whoever asks later,
// with whatever token of its own, gets the first. Each check has its own.
func testPingTokens(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a := registered(t, open)
	got, err := a.PingToken(ctx, "shop/web", "first-token")
	if err != nil || got != "first-token" {
		t.Fatalf("PingToken = %q, %v; want the one made", got, err)
	}
	b := open(t)
	if err := b.Register(ctx, checks); err != nil {
		t.Fatal(err)
	}
	if got, err := b.PingToken(ctx, "shop/web", "second-token"); err != nil || got != "first-token" {
		t.Errorf("PingToken again = %q, %v; want the first one kept", got, err)
	}
	if got, err := b.PingToken(ctx, "shop/db", "db-token"); err != nil || got != "db-token" {
		t.Errorf("PingToken of another check = %q, %v", got, err)
	}
	if _, err := b.PingToken(ctx, "shop/nope", "x"); err == nil {
		t.Error("PingToken of a check never registered: no error")
	}
}
