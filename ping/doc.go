// Package ping serves the URLs that the jobs of heartbeat checks call,
// /ping/TOKEN when they succeed, /ping/TOKEN/start and /ping/TOKEN/fail,
// and keeps their tokens: the one configured, or one made once and
// stored, the same at every start and on every instance.
package ping
