// Package webhook delivers messages as JSON POSTs to a URL, signed with
// HMAC-SHA256 when the contact has a webhook_secret. The body's schema is
// versioned; see Body.
package webhook
