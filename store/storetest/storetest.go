// Package storetest is the conformance suite of hostwatch's stores: the
// same tests, written against the store interfaces only, run on every
// implementation.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// NewStore makes a new, empty store for one test and returns how to open
// it: each call of open is another handle on that same store, as another
// instance of the daemon would have. The handles are closed when the test
// ends.
type NewStore func(t *testing.T) (open func(t *testing.T) store.Store)

// Run runs every test of the suite on the stores newStore makes; tamper
// edits their rows behind their back.
func Run(t *testing.T, newStore NewStore, tamper Tamper) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"IncidentRecord", testIncidentRecord},
		{"StatsAndCompaction", testStatsAndCompaction},
		{"CheckStates", testCheckStates},
		{"IncidentsByMerchant", testIncidentsByMerchant},
		{"Acknowledge", testAcknowledge},
		{"StateChangesAndFirstSeen", testStateChangesAndFirstSeen},
		{"PeriodEdges", testPeriodEdges},
		{"FirstProbeKept", testFirstProbeKept},
		{"Flapping", testFlapping},
		{"AlertsSilencesWindows", testAlertsSilencesWindows},
		{"Outbox", testOutbox},
		{"Claims", testClaims},
		{"TakeOnce", testTakeOnce},
		{"Members", testMembers},
		{"OneOpenIncident", testOneOpenIncident},
		{"RecordChange", testRecordChange},
		{"ReadsInTheTransaction", testReadsInTheTransaction},
		{"Signals", testSignals},
		{"Leases", testLeases},
		{"Origins", testOrigins},
		{"PingTokens", testPingTokens},
		{"Chain", testChain},
		{"ChainConcurrent", testChainConcurrent},
	}
	tests = append(tests, tamperTests(tamper)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// t0 is a time on a whole millisecond, as the stores keep times.
var t0 = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

// checks are the checks every test's store has registered.
var checks = []string{"shop/web", "shop/db"}

// registered opens a handle and registers the checks.
func registered(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	st := open(t)
	if err := st.Register(context.Background(), checks); err != nil {
		t.Fatal(err)
	}
	return st
}

// update runs fn in one transaction and fails the test on an error.
func update(t *testing.T, st store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}
