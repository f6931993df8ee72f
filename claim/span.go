package claim

import (
	"slices"
	"time"
)

// span is an interval of time, [a, b).
type span struct{ a, b time.Time }

func (s span) length() time.Duration { return s.b.Sub(s.a) }

// union merges spans into the fewest sorted disjoint spans covering the
// same instants; touching spans become one.
func union(spans []span) []span {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(x, y span) int { return x.a.Compare(y.a) })
	var out []span
	for _, s := range sorted {
		if !s.a.Before(s.b) {
			continue
		}
		if n := len(out); n > 0 && !s.a.After(out[n-1].b) {
			if s.b.After(out[n-1].b) {
				out[n-1].b = s.b
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// intersect is the instants in both x and y, each sorted and disjoint.
func intersect(x, y []span) []span {
	var out []span
	for i, j := 0, 0; i < len(x) && j < len(y); {
		a, b := later(x[i].a, y[j].a), earlier(x[i].b, y[j].b)
		if a.Before(b) {
			out = append(out, span{a, b})
		}
		if x[i].b.Before(y[j].b) {
			i++
		} else {
			j++
		}
	}
	return out
}

// subtract is the instants of x not in y, each sorted and disjoint.
func subtract(x, y []span) []span {
	var out []span
	for _, s := range x {
		for _, cut := range y {
			if !cut.b.After(s.a) || !cut.a.Before(s.b) {
				continue
			}
			if cut.a.After(s.a) {
				out = append(out, span{s.a, cut.a})
			}
			s.a = cut.b
			if !s.a.Before(s.b) {
				break
			}
		}
		if s.a.Before(s.b) {
			out = append(out, s)
		}
	}
	return out
}

func total(spans []span) time.Duration {
	var d time.Duration
	for _, s := range spans {
		d += s.length()
	}
	return d
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
