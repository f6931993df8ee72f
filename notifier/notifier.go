package notifier

import (
	"context"
	"time"
)

// Kind is what a message announces.
type Kind string

// The kinds of message.
const (
	Down     Kind = "down"
	Resolved Kind = "resolved"
)

// Message is one announcement about one incident, independent of where it
// goes and how it is drawn there.
type Message struct {
	Kind     Kind
	Incident int64
	Merchant string
	Check    string // merchant/check
	// Start is when the outage began: the first failed probe.
	Start time.Time
	// End is when it ended: the first successful probe. Zero while down.
	End time.Time
	// Error is the failure that confirmed the outage.
	Error string
	// Failures counts the failed probes so far.
	Failures int
}

// Downtime is End minus Start.
func (m Message) Downtime() time.Duration {
	return m.End.Sub(m.Start)
}

// Notifier delivers messages to one kind of destination.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}
