// Package quorum confirms a check's state from the several places that
// probe it: each location applies down_after and up_after to its own
// probes, and the check is down when enough locations, of those not cut
// off themselves, see it down.
package quorum
