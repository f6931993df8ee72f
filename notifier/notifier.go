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
	// refused and why.
	Destination string `json:",omitempty"`
	Detail      string `json:",omitempty"`
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
