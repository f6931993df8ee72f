// Package source takes what other tools say of the shops into hostwatch:
// Alertmanager's and Grafana's webhooks and PagerDuty's Events API v2, at
// /intake/KIND/NAME. Each reads a request into signals (this alert of that
// merchant is down, is up, was acknowledged) that the incident engine
// records and decides on as it does a probe's: the same grouping,
// escalation, buttons, silences, record and reports.
//
// A kind of source is one file that registers its Intake in init, as a
// probe kind is in package checks.
package source
