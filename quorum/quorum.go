package quorum

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/store"
)

// Rule says how many locations must see a check down to confirm it:
// Locations of them, or more than half with Majority.
type Rule struct {
	Locations int
	Majority  bool
}

// Needed is how many of a check's of locations must see it down. A rule
// asking more than the check has asks them all.
func (r Rule) Needed(of int) int {
	n := max(r.Locations, 1)
	if r.Majority {
		n = of/2 + 1
	}
	return max(min(n, of), 1)
}

// View is what one location sees of a check: its state after the
// location's own probes, and the last of them.
type View struct {
	Location string
	State    store.CheckState
	Last     checks.Result
	LastAt   time.Time
}

// Verdict is a check's state as its locations confirm it.
type Verdict struct {
	// Down, Up and Isolated name the locations by what they see, in the
	// check's order; one that has not probed yet is in none. An isolated
	// location is in Isolated only: it does not count.
	Down, Up, Isolated []string
	Needed, Of         int
	// Since is when the check went down as the quorum sees it: when the
	// last of the Needed first locations to fail began to fail.
	Since time.Time
}

// IsDown says the verdict confirms an outage.
func (v Verdict) IsDown() bool { return len(v.Down) >= v.Needed }

// Decide gives the verdict of views under r; isolated says which
// locations are cut off (nil: none).
func Decide(r Rule, views []View, isolated func(location string) bool) Verdict {
	v := Verdict{Of: len(views), Needed: r.Needed(len(views))}
	var since []time.Time
	for _, w := range views {
		switch {
		case isolated != nil && isolated(w.Location):
			v.Isolated = append(v.Isolated, w.Location)
		case w.State.State == store.Down:
			v.Down = append(v.Down, w.Location)
			since = append(since, w.State.Since)
		case w.State.State == store.Up:
			v.Up = append(v.Up, w.Location)
		}
	}
	if v.IsDown() {
		// The Needed-th earliest start of a run of failures.
		slices.SortFunc(since, time.Time.Compare)
		v.Since = since[v.Needed-1]
	}
	return v
}

// Summary says where a check is seen down from, for a person: "down from
// local and busan, 2 of 3; jeju still reaches it".
func (v Verdict) Summary() string {
	var parts []string
	switch {
	case len(v.Down) > 0:
		parts = append(parts, fmt.Sprintf("down from %s, %d of %d", and(v.Down), len(v.Down), v.Of))
		switch len(v.Up) {
		case 0:
		case 1:
			parts = append(parts, v.Up[0]+" still reaches it")
		default:
			parts = append(parts, and(v.Up)+" still reach it")
		}
	case len(v.Up) > 0:
		parts = append(parts, "up from "+and(v.Up))
	}
	if len(v.Isolated) > 0 {
		parts = append(parts, and(v.Isolated)+" cut off, not counted")
	}
	return strings.Join(parts, "; ")
}

// and joins names as a sentence does: "a", "a and b", "a, b and c".
func and(names []string) string {
	switch len(names) {
	case 0:
		return "nowhere"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
