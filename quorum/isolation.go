package quorum

import (
	"fmt"
	"sync"
	"time"
)

// Cut is a location found cut off from the world, or back.
type Cut struct {
	Location string
	Cut      bool
	At       time.Time
	// Since is when it was found cut off; for one back, the time it was.
	Since time.Time
	// Share is the share of its checks failing, for a location cut off by
	// the ratio rule; Canaries says the canaries all failed instead, and
	// Silent that none of its agents has been heard from.
	Share    float64
	Canaries bool
	Silent   bool
}

// Detector finds the locations that are cut off themselves rather than
// seeing every shop down: more than the ratio of a location's checks,
// spanning at least two groups (providers), failing at once while another
// location sees most of those up; or every canary failing from there.
type Detector struct {
	ratio    float64
	canaries int
	group    func(check string) string
	told     func(Cut)
	now      func() time.Time

	mu   sync.Mutex
	locs map[string]*seen
}

// seen is what a location saw last of each check and canary.
type seen struct {
	ok       map[string]bool // check → its last result
	failing  int
	byGroup  map[string]int // failing checks per group
	canaries map[string]bool
	silent   bool
	heard    time.Time // when a silent location was last heard from
	cut      bool
	since    time.Time
	checked  time.Time // when the ratio rule was last looked at in full
	// lastCut is when it was last cut off, until when: what it probed
	// then is recorded but decides nothing.
	lastCut [2]time.Time
}

// DetectorOptions are what a Detector needs.
type DetectorOptions struct {
	// Ratio is isolation.ratio; Canaries how many canaries there are.
	Ratio    float64
	Canaries int
	// Group names the provider of a check (or what stands for one, its
	// host).
	Group func(check string) string
	// Told is told of each location cut off and back, once each.
	Told func(Cut)
	Now  func() time.Time
}

// NewDetector builds a Detector.
func NewDetector(o DetectorOptions) *Detector {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Detector{ratio: o.Ratio, canaries: o.Canaries, group: o.Group, told: o.Told, now: o.Now, locs: map[string]*seen{}}
}

func (d *Detector) at(location string) *seen {
	s := d.locs[location]
	if s == nil {
		s = &seen{ok: map[string]bool{}, byGroup: map[string]int{}, canaries: map[string]bool{}}
		d.locs[location] = s
	}
	return s
}

// Isolated says whether location is cut off now.
func (d *Detector) Isolated(location string) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.locs[location]
	return s != nil && s.cut
}

// Result counts whether a check that location probed at at is up from
// there: not down after its down_after failures, so that one round of
// failures (a link coming back, its neighbours not yet found) cuts no
// location off. A result its agent held while it was cut off tells
// nothing of the location now, and is left out (see Held).
func (d *Detector) Result(location, check string, at time.Time, ok bool) {
	d.mu.Lock()
	s := d.at(location)
	if s.held(at) {
		d.mu.Unlock()
		return
	}
	was, known := s.ok[check]
	s.ok[check] = ok
	if !known || was != ok {
		n := 1
		if ok {
			n = -1
		}
		if known || !ok {
			s.failing += n
			s.byGroup[d.group(check)] += n
		}
	}
	cut := d.decide(location, s)
	d.mu.Unlock()
	d.tell(cut)
}

// Silent says whether location has gone unheard from since heard: its
// agents send nothing, so it is cut off from this process at least, and
// has been since it was last heard from.
func (d *Detector) Silent(location string, silent bool, heard time.Time) {
	d.mu.Lock()
	s := d.at(location)
	if s.silent == silent {
		d.mu.Unlock()
		return
	}
	s.silent, s.heard = silent, heard
	cut := d.decide(location, s)
	d.mu.Unlock()
	d.tell(cut)
}

// Held says whether a result location probed at at was held by its agent
// while the location was cut off: it comes while the location is silent,
// or it was probed within its last time cut off. Such a result is
// recorded, and decides nothing.
func (d *Detector) Held(location string, at time.Time) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.locs[location].held(at)
}

func (s *seen) held(at time.Time) bool {
	switch {
	case s == nil:
		return false
	case s.silent:
		return true
	}
	return !at.Before(s.lastCut[0]) && at.Before(s.lastCut[1])
}

// Canary counts a canary's result from location.
func (d *Detector) Canary(location, canary string, ok bool) {
	d.mu.Lock()
	s := d.at(location)
	s.canaries[canary] = ok
	cut := d.decide(location, s)
	d.mu.Unlock()
	d.tell(cut)
}

func (d *Detector) tell(c *Cut) {
	if c != nil && d.told != nil {
		d.told(*c)
	}
}

// decide looks at location again after a result, and returns the change
// to tell, if any. d.mu is held.
func (d *Detector) decide(location string, s *seen) *Cut {
	now := d.now()
	canaries := d.canaries > 0 && len(s.canaries) == d.canaries
	for _, ok := range s.canaries {
		canaries = canaries && !ok
	}
	share := 0.0
	if len(s.ok) > 0 {
		share = float64(s.failing) / float64(len(s.ok))
	}
	cut := canaries || s.silent
	if !cut && share > d.ratio && d.groups(s) >= 2 {
		if s.cut {
			cut = true // still: looked at in full when it was cut off
		} else if now.Sub(s.checked) >= time.Second {
			// In full at most once a second: the other locations' views
			// of the failing checks.
			s.checked = now
			cut = d.othersReach(location, s)
		}
	}
	if cut == s.cut {
		return nil
	}
	c := &Cut{Location: location, Cut: cut, At: now, Share: share, Canaries: canaries, Silent: s.silent}
	if cut {
		s.since = now
		if s.silent && !s.heard.IsZero() {
			s.since = s.heard // what it probed since was never heard
		}
	} else {
		s.lastCut = [2]time.Time{s.since, now}
	}
	c.Since, s.cut = s.since, cut
	return c
}

// groups counts the groups with a failing check.
func (d *Detector) groups(s *seen) int {
	n := 0
	for _, f := range s.byGroup {
		if f > 0 {
			n++
		}
	}
	return n
}

// othersReach says whether another location, not cut off, sees most of
// the checks failing at location up.
func (d *Detector) othersReach(location string, s *seen) bool {
	for l, o := range d.locs {
		if l == location || o.cut {
			continue
		}
		both, up := 0, 0
		for check, ok := range s.ok {
			if ok {
				continue
			}
			if theirs, known := o.ok[check]; known {
				both++
				if theirs {
					up++
				}
			}
		}
		if both > 0 && up*2 > both {
			return true
		}
	}
	return false
}

// Say is a cut for the log: "busan looks cut off: 96% of its checks
// failing at once".
func (c Cut) Say() string {
	switch {
	case !c.Cut:
		return fmt.Sprintf("%s is back", c.Location)
	case c.Canaries:
		return fmt.Sprintf("%s looks cut off: every canary fails from there", c.Location)
	case c.Silent:
		return fmt.Sprintf("%s looks cut off: its agents are not heard from", c.Location)
	}
	return fmt.Sprintf("%s looks cut off: %.0f%% of its checks failing at once", c.Location, c.Share*100)
}
