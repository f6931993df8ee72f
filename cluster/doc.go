// Package cluster is the membership of the daemons that share one store:
// each renews a lease by heartbeat, and the instances whose lease runs share
// the checks between them. An instance that cannot renew its lease stops
// probing and sending until it can again.
package cluster
