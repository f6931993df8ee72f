// Package checks probes a shop from the outside the way a customer reaches it:
// one Checker per probe kind, one file each (http.go, tcp.go, dns.go,
// tls.go). A probe takes a context, honours its deadline, and returns a
// Result: ok, latency, the error seen and the evidence behind the verdict.
package checks
