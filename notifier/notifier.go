package notifier

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Kind is what a message announces.
type Kind string

// The kinds of message.
const (
	Down     Kind = "down"
	Resolved Kind = "resolved"
	// DeliveryFailed tells the admins that a destination refuses messages
	// for good (a blocked bot, a deleted channel, a bad token).
	DeliveryFailed Kind = "delivery_failed"
	// ProviderDown and ProviderUp tell the admins that many checks of
	// one hosting provider went down together, and came back.
	ProviderDown Kind = "provider_down"
	ProviderUp   Kind = "provider_up"
	// Flapping says a check keeps going down and up, and that its
	// alerts are held; Steady that it stopped.
	Flapping Kind = "flapping"
	Steady   Kind = "steady"
)

// Message is one announcement, independent of where it goes and how it is
// drawn there.
type Message struct {
	Kind Kind
	// ID identifies this delivery: the same message to the same
	// destination always has the same ID, so a receiver can drop a
	// duplicate after a crash.
	ID int64 `json:"-"`
	// ReplyTo is the receipt of the message this one follows up (the
	// alert a resolution answers), for platforms with threads; set by the
	// dispatcher.
	ReplyTo  string `json:"-"`
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
	// ResolvedBy names who closed the incident by hand; empty when the
	// shop came back.
	ResolvedBy string `json:",omitempty"`
	// AckBy and AckAt say who acknowledged the incident and when.
	AckBy string    `json:",omitempty"`
	AckAt time.Time `json:",omitzero"`
	// Destination and Detail say, for DeliveryFailed, which destination
	// refused and why; Detail also says why a check is flapping.
	Destination string `json:",omitempty"`
	Detail      string `json:",omitempty"`

	// Alert is the alert the message tells of; its buttons act on it.
	Alert int64 `json:",omitempty"`
	// Items are the checks of an alert that groups several, each with
	// its incident; empty when the alert is about one check, which the
	// fields above then describe.
	Items []Item `json:",omitempty"`
	// Of is how many checks the merchant has, for "3 of 5".
	Of int `json:",omitempty"`
	// Provider is the outage of the hosting provider the checks are
	// part of, or for ProviderDown and ProviderUp the outage itself.
	Provider *ProviderOutage `json:",omitempty"`
	// Note says why this message goes out now: an escalation step, an
	// acknowledgement that timed out, a silence that ended.
	Note string `json:",omitempty"`
}

// Item is one check of a grouped alert.
type Item struct {
	Incident int64
	Check    string
	Start    time.Time
	// End is when the check came back; zero while down.
	End   time.Time `json:",omitzero"`
	Error string    `json:",omitempty"`
	AckBy string    `json:",omitempty"`
}

// ProviderOutage is many checks of one hosting provider down together.
type ProviderOutage struct {
	Name  string
	Down  int // checks down
	Of    int // checks on the provider
	Since time.Time
	End   time.Time `json:",omitzero"`
}

// Group reports whether m tells of several checks at once.
func (m Message) Group() bool { return len(m.Items) > 0 }

// Actionable reports whether m carries the Acknowledge and Silence
// buttons: an alert while something it tells of is still down.
func (m Message) Actionable() bool {
	switch {
	case m.Kind == ProviderDown:
		return m.Alert != 0
	case m.Kind != Down:
		return false
	case m.Group():
		return m.Alert != 0 && m.StillDown() > 0
	}
	return m.Alert != 0 || m.Incident != 0
}

// StillDown counts the items still down.
func (m Message) StillDown() int {
	n := 0
	for _, it := range m.Items {
		if it.End.IsZero() {
			n++
		}
	}
	return n
}

// Downtime is End minus Start.
func (m Message) Downtime() time.Duration {
	return m.End.Sub(m.Start)
}

// Notifier delivers messages to the addresses of one platform: chat ids,
// channel ids, webhook URLs. Send returns the platform's id of the message,
// for later edits. Its error says whether trying again makes sense: a
// *RetryAfterError waits as long as the platform asked, a *PermanentError
// stops, and any other error is retried with backoff.
type Notifier interface {
	Send(ctx context.Context, address string, m Message) (receipt string, err error)
}

// Editor is a Notifier whose platform can change a message sent before.
type Editor interface {
	Edit(ctx context.Context, address, receipt string, m Message) error
}

// RetryAfterError is a refusal with a wait the platform asked for.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// PermanentError is a refusal that no retry can change.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfter marks err as worth retrying after d.
func RetryAfter(d time.Duration, err error) error { return &RetryAfterError{After: d, Err: err} }

// IsPermanent reports whether err says not to retry.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// WithoutURL drops the URL from a failed request's error. The URLs
// notifiers call are credentials (a bot token in the path, a webhook's or a
// response_url's secret part): an error may say what failed, never where.
func WithoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
