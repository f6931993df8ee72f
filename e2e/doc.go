// Package e2e holds end-to-end tests of the built hostwatch binaries, run
// in network namespaces the tests make, so that a place can be cut off.
package e2e
