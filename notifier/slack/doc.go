// Package slack delivers messages to Slack channels and users through the
// Web API (slack-go), as Block Kit with the alert buttons Acknowledge and
// Silence 1h and a plain-text fallback, updates them in place with
// chat.update, and posts a resolution in the alert's thread. slack-go's own
// retry is left off: the outbox is the one that retries, honouring
// Retry-After.
package slack
