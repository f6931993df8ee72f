// Package web is hostwatch's HTTP server: /healthz for load balancers and
// supervisors, /metrics for Prometheus.
package web
