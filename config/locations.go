package config

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// DefaultLocation is the name of the place this process probes from when
// neither locations.self nor cluster.location names it.
const DefaultLocation = "local"

// DefaultIsolationRatio is the share of a location's checks that must fail
// at once for it to be taken as cut off itself.
const DefaultIsolationRatio = 0.8

// DefaultSilence is isolation.silence: twice the agents' 30 s between
// asking for their checks.
const DefaultSilence = time.Minute

// minAgentToken is the shortest token an agent may have: it signs the
// agent's requests, and a short one could be guessed.
const minAgentToken = 16

// Locations name the places probes run from.
type Locations struct {
	// Self is where this process probes from; cluster.location, when
	// set, names it instead for each instance.
	Self string `yaml:"self"`
}

// Agent is a probe agent allowed to take checks and send results: one
// `hostwatch agent` process at Location, signing with Token.
type Agent struct {
	Name     string `yaml:"name"`
	Location string `yaml:"location"`
	Token    Secret `yaml:"token"`
}

// Isolation says when a location is taken as cut off itself rather than
// seeing every shop down.
type Isolation struct {
	Ratio float64 `yaml:"ratio"`
	// Silence is how long a location's agents may go unheard from before
	// it counts as cut off: they ask for their checks every 30 s.
	Silence Duration `yaml:"silence"`
}

// Confirm says how many locations must see a check down to open its
// outage: `locations: 2`, or `locations: majority`.
type Confirm struct {
	Locations Quorum `yaml:"locations"`
}

// Quorum is a number of locations, or more than half of them.
type Quorum struct {
	N        int
	Majority bool
}

func (q *Quorum) decodeNode(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "majority" {
		*q = Quorum{Majority: true}
		return nil
	}
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("must be a number of locations or majority, not %q", n.Value)
	}
	if i < 1 {
		return fmt.Errorf("must be at least 1, not %d", i)
	}
	*q = Quorum{N: i}
	return nil
}

// Here is the location this process probes from.
func (c *Config) Here() string {
	if c.Cluster.Location != "" {
		return c.Cluster.Location
	}
	if c.Locations.Self != "" {
		return c.Locations.Self
	}
	return DefaultLocation
}

// Places are every location checks can be probed from: this process's
// first, then the agents', in the order they are first named.
func (c *Config) Places() []string {
	out := []string{c.Here()}
	for _, a := range c.Agents {
		if !slices.Contains(out, a.Location) {
			out = append(out, a.Location)
		}
	}
	return out
}

// PlacesOf are the locations ch is probed from: its own, the defaults',
// or every location.
func (c *Config) PlacesOf(ch *Check) []string {
	switch {
	case ch.Locations != nil && len(*ch.Locations) > 0:
		return *ch.Locations
	case len(c.Defaults.Locations) > 0:
		return c.Defaults.Locations
	}
	return c.Places()
}

// CanaryPrefix starts the IDs of the canaries as checks: no check's ID
// can, as no merchant's name starts with it.
const CanaryPrefix = "~canary/"

// CanaryChecks are the canaries as HTTP checks, probed from every location
// on the defaults' schedule and timeout: a location from which every one
// fails is cut off itself. Their IDs are CanaryPrefix and their index.
func (c *Config) CanaryChecks() []*Check {
	var out []*Check
	for i, u := range c.Canaries {
		ch := &Check{Name: strconv.Itoa(i), ID: CanaryPrefix + strconv.Itoa(i), HTTP: &HTTPCheck{URL: u, Method: "GET"},
			Schedule: c.Defaults.Schedule, Timeout: c.Defaults.Timeout, DownAfter: 1, UpAfter: 1}
		if s, err := CronParser.Parse(ch.Schedule); err == nil {
			if spec, ok := s.(*cron.SpecSchedule); ok && c.Location != nil {
				spec.Location = c.Location
			}
			ch.Cron = s
		}
		out = append(out, ch)
	}
	return out
}

// placeSet are the locations a check may name: this process's, and each
// agent's that is a valid name of another place.
func (c *Config) placeSet() map[string]bool {
	here := c.Here()
	set := map[string]bool{here: true}
	for _, a := range c.Agents {
		if a.Location != here && namePattern.MatchString(a.Location) {
			set[a.Location] = true
		}
	}
	return set
}

// locations checks where probes run from: the agents, the canaries, the
// isolation rule, and the locations the defaults name.
func (v *validator) locations() {
	c := v.cfg
	if c.Locations.Self != "" {
		v.name("locations.self", c.Locations.Self)
	}
	here := c.Here()
	v.places = c.placeSet()
	names, tokens := map[string]string{}, map[string]string{}
	for i, a := range c.Agents {
		p := index("agents", i)
		if v.name(p+".name", a.Name) {
			if first, dup := names[a.Name]; dup {
				v.fail(p+".name", "another agent is named %q (%s)", a.Name, v.where(first, p))
			}
			names[a.Name] = p
		}
		if v.name(p+".location", a.Location) && a.Location == here {
			v.fail(p+".location", "%q is this process's own location: an agent probes from elsewhere", a.Location)
		}
		if v.required(p+".token", a.Token.Value()) {
			if len(a.Token.Value()) < minAgentToken {
				v.fail(p+".token", "must be at least %d characters", minAgentToken)
			} else if first, dup := tokens[a.Token.Value()]; dup {
				v.fail(p+".token", "is the token of another agent (%s): each agent needs its own", v.where(first, p))
			} else {
				tokens[a.Token.Value()] = p
			}
		}
	}
	for i, u := range c.Canaries {
		v.absURL(index("canaries", i), u)
	}
	if v.has("isolation.ratio") && (c.Isolation.Ratio <= 0 || c.Isolation.Ratio > 1) {
		v.fail("isolation.ratio", "must be more than 0 and at most 1")
	}
	if v.has("isolation.silence") {
		v.positive("isolation.silence", c.Isolation.Silence.Duration)
	}
	v.placeList("defaults.locations", c.Defaults.Locations)
}

// placeList checks a list of locations a check is probed from.
func (v *validator) placeList(path string, list []string) {
	if v.has(path) && len(list) == 0 {
		v.fail(path, "names no location; leave it out to probe from every one")
	}
	for i, l := range list {
		p := index(path, i)
		switch {
		case !v.name(p, l):
		case !v.places[l]:
			v.fail(p, "no location is named %q (known: %s)", l, v.knownPlaces())
		case slices.Index(list, l) < i:
			v.fail(p, "names %q twice", l)
		}
	}
}

func (v *validator) knownPlaces() string {
	var out []string
	for _, l := range v.cfg.Places() {
		if v.places[l] {
			out = append(out, l)
		}
	}
	return fmt.Sprint(out)
}
