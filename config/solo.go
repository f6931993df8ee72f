package config

import (
	"maps"
	"time"
)

// A part checks its merchants alone as soon as it is read, on every core
// like the reading: it fills in their defaults and checks every value of
// each merchant that needs no other (names, URLs, schedules, the
// warnings of each check). What is left to the whole, in order, is what
// depends on the other merchants, the contacts and the policies. A
// merchant with a problem of its own is checked whole again in its turn,
// with the others: its problems are told as they are for a file read in
// one piece, in the same order, and the part only tells which merchants
// need it.

// ahead is what a part needs of the main file to check its merchants
// alone: the defaults section, defaulted; the time zone; what the command
// needs.
type ahead struct {
	defaults *Defaults
	loc      *time.Location
	offline  bool
	uses     []string
	// whole leaves every check of the merchants to the whole.
	whole bool
	// places are the locations a check may name.
	places map[string]bool
}

// solo is what a part found of one merchant alone.
type solo struct {
	// checked is set once its part has checked it; clean when it had
	// no problem of its own, quiet when no warning of its own and its
	// HTTP checks probe their URLs as written.
	checked, clean, quiet bool
}

// checkAlone fills in the defaults of the part's merchants and checks
// each alone, noting what it found in r.solo.
func (r *read) checkAlone(a *ahead) {
	d := r.d
	base := d.base["merchants"]
	for k := range r.merchants {
		defaultMerchant(&r.merchants[k], base+k, a.defaults, d.has)
	}
	if a.whole || len(r.merchants) == 0 {
		return
	}
	// What the checks note of a problem they find is kept apart: the
	// whole check starts afresh for that merchant.
	scratch := *d
	scratch.bad, scratch.unset = maps.Clone(d.bad), maps.Clone(d.unset)
	scratch.errs, scratch.warnings = nil, nil
	v := &validator{decoder: &scratch, cfg: &Config{Location: a.loc}, offline: a.offline, uses: a.uses, places: a.places}
	r.solo = make([]solo, len(r.merchants))
	for k := range r.merchants {
		m, i := &r.merchants[k], base+k
		errs, warnings := len(scratch.errs), len(scratch.warnings)
		v.merchant(i, m, a.loc, nil, true, false)
		asWritten := v.mistakesOf(i, m, true, nil)
		r.solo[k] = solo{checked: true, clean: len(scratch.errs) == errs, quiet: len(scratch.warnings) == warnings && asWritten}
	}
}

// soloClean says whether the part of merchants[i] found it with no
// problem of its own.
func (d *decoder) soloClean(i int) bool {
	return i < len(d.solo) && d.solo[i].checked && d.solo[i].clean
}

// soloQuiet says whether the part of merchants[i] found it with no
// warning of its own, and its URLs as probed as they are written.
func (d *decoder) soloQuiet(i int) bool {
	return i < len(d.solo) && d.solo[i].checked && d.solo[i].quiet
}
