package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLocations: where each check is probed from, and the mistakes a
// file can make naming agents and locations.
func TestLocations(t *testing.T) {
	const agents = "agents:\n  - {name: busan-1, location: busan, token: 0123456789abcdef}\n" +
		"  - {name: jeju-1, location: jeju, token: fedcba9876543210}\n"
	const merchants = "merchants:\n  - name: m\n    checks:\n"
	tests := []struct {
		name   string
		yaml   string
		places map[string][]string // check ID → its locations
		quorum Quorum
		err    string // "line: path: message"
	}{
		{"every location by default", agents + merchants +
			"      - {name: a, tcp: {address: 'x:1'}}\n      - {name: b, tcp: {address: 'x:1'}, locations: [busan]}\n",
			map[string][]string{"m/a": {"local", "busan", "jeju"}, "m/b": {"busan"}}, Quorum{}, ""},
		{"defaults and a quorum", agents + "defaults: {locations: [local, jeju], confirm: {locations: 2}}\n" + merchants +
			"      - {name: a, tcp: {address: 'x:1'}}\n",
			map[string][]string{"m/a": {"local", "jeju"}}, Quorum{N: 2}, ""},
		{"majority, and locations.self", "locations: {self: seoul}\n" + agents + "defaults: {confirm: {locations: majority}}\n" + merchants +
			"      - {name: a, tcp: {address: 'x:1'}, locations: [seoul, busan]}\n",
			map[string][]string{"m/a": {"seoul", "busan"}}, Quorum{Majority: true}, ""},
		{"cluster.location names this instance's place", "cluster: {location: seoul}\n" + merchants +
			"      - {name: a, tcp: {address: 'x:1'}}\n",
			map[string][]string{"m/a": {"seoul"}}, Quorum{}, ""},
		{"unknown location", agents + merchants + "      - {name: a, tcp: {address: 'x:1'}, locations: [busan, mars]}\n",
			nil, Quorum{}, `7: merchants[0].checks[0].locations[1]: no location is named "mars" (known: [local busan jeju])`},
		{"a location twice", agents + "defaults: {locations: [busan, busan]}\n",
			nil, Quorum{}, `4: defaults.locations[1]: names "busan" twice`},
		{"an empty list", agents + "defaults: {locations: []}\n",
			nil, Quorum{}, `4: defaults.locations: names no location`},
		{"on a heartbeat", agents + merchants + "      - {name: a, heartbeat: {period: 1h}, locations: [busan]}\n",
			nil, Quorum{}, `7: merchants[0].checks[0].locations: does not apply to a heartbeat`},
		{"short token", "agents:\n  - {name: a, location: busan, token: short}\n",
			nil, Quorum{}, `2: agents[0].token: must be at least 16 characters`},
		{"shared token", "agents:\n  - {name: a, location: busan, token: 0123456789abcdef}\n  - {name: b, location: jeju, token: 0123456789abcdef}\n",
			nil, Quorum{}, `3: agents[1].token: is the token of another agent (line 2)`},
		{"agent at home", "agents:\n  - {name: a, location: local, token: 0123456789abcdef}\n",
			nil, Quorum{}, `2: agents[0].location: "local" is this process's own location`},
		{"agent twice", "agents:\n  - {name: a, location: busan, token: 0123456789abcdef}\n  - {name: a, location: jeju, token: fedcba9876543210}\n",
			nil, Quorum{}, `3: agents[1].name: another agent is named "a"`},
		{"quorum of none", "defaults: {confirm: {locations: 0}}\n", nil, Quorum{}, `1: defaults.confirm.locations: must be at least 1, not 0`},
		{"quorum of words", "defaults: {confirm: {locations: most}}\n", nil, Quorum{},
			`1: defaults.confirm.locations: must be a number of locations or majority, not "most"`},
		{"bad canary", "canaries: ['www.naver.com']\n", nil, Quorum{}, `1: canaries[0]: must be an absolute http or https URL`},
		{"bad ratio", "isolation: {ratio: 1.5}\n", nil, Quorum{}, `1: isolation.ratio: must be more than 0 and at most 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(tt.yaml), noEnv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), "f.yaml:"+tt.err) {
					t.Fatalf("want an error %q, got %v", tt.err, err)
				}
				if strings.Contains(err.Error(), "0123456789abcdef") {
					t.Errorf("the error repeats a token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range cfg.Checks() {
				if got := cfg.PlacesOf(ch); !slices.Equal(got, tt.places[ch.ID]) {
					t.Errorf("%s is probed from %v, want %v", ch.ID, got, tt.places[ch.ID])
				}
			}
			if cfg.Defaults.Confirm.Locations != tt.quorum {
				t.Errorf("quorum %+v, want %+v", cfg.Defaults.Confirm.Locations, tt.quorum)
			}
			if cfg.Isolation.Ratio != DefaultIsolationRatio {
				t.Errorf("isolation ratio %v, want the default", cfg.Isolation.Ratio)
			}
		})
	}
}

// TestLocationsInIncludedFiles: a check of an included file names the
// locations of the main file's agents; one it does not know is told in
// its own file.
func TestLocationsInIncludedFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hostwatch.yaml":   "include: [\"merchants/*.yaml\"]\nagents:\n  - {name: busan-1, location: busan, token: 0123456789abcdef}\n",
		"merchants/a.yaml": "merchants:\n  - name: a\n    checks:\n      - {name: web, tcp: {address: 'x:1'}, locations: [busan]}\n",
	})
	cfg, err := LoadWith(filepath.Join(dir, "hostwatch.yaml"), Options{Lookup: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.PlacesOf(cfg.Checks()[0]); !slices.Equal(got, []string{"busan"}) {
		t.Errorf("a/web is probed from %v", got)
	}
	writeFiles(t, dir, map[string]string{
		"merchants/b.yaml": "merchants:\n  - name: b\n    checks:\n      - {name: web, tcp: {address: 'x:1'}, locations: [jeju]}\n",
	})
	_, err = LoadWith(filepath.Join(dir, "hostwatch.yaml"), Options{Lookup: noEnv})
	if want := `merchants/b.yaml:4: merchants[0].checks[0].locations[0]: no location is named "jeju" (known: [local busan])`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("want %q, got %v", want, err)
	}
}
