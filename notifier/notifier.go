package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/locale"
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
	// ChainHead tells the admins the head of the record's hash chain,
	// once a day, so that a copy of it lives outside the database.
	ChainHead Kind = "chain_head"
	// LocationCut tells the admins that a location probes from a place
	// cut off itself, and its results do not count; LocationBack that it
	// reaches the world again.
	LocationCut  Kind = "location_cut"
	LocationBack Kind = "location_back"
)

// Version is the version of Message as the outbox holds it: it changes
// when a field changes meaning or goes away, and Decode reads every
// version before it.
const Version = 1

// Message is one announcement, independent of where it goes and how it is
// drawn there: facts and reason codes, never sentences, so that it is put
// into words in the reader's language when it is delivered.
type Message struct {
	V    int  `json:"v"`
	Kind Kind `json:"kind"`
	// ID identifies this delivery: the same message to the same
	// destination always has the same ID, so a receiver can drop a
	// duplicate after a crash.
	ID int64 `json:"-"`
	// ReplyTo is the receipt of the message this one follows up (the
	// alert a resolution answers), for platforms with threads; set by the
	// dispatcher.
	ReplyTo string `json:"-"`
	// Lang is the language of the reader, set by the dispatcher when it
	// delivers.
	Lang     locale.Lang `json:"-"`
	Incident int64       `json:"incident,omitempty"`
	Merchant string      `json:"merchant,omitempty"`
	Check    string      `json:"check,omitempty"` // merchant/check
	// Source, Title and Labels name a check that a source reported (an
	// Alertmanager alert: "prom", "prom/HighErrorRate", its labels);
	// empty for a configured check.
	Source string            `json:"source,omitempty"`
	Title  string            `json:"title,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Start is when the outage began: the first failed probe.
	Start time.Time `json:"start,omitzero"`
	// End is when it ended: the first successful probe. Zero while down.
	End time.Time `json:"end,omitzero"`
	// Error is the failure that confirmed the outage.
	Error string `json:"error,omitempty"`
	// Where is, for a check probed from several locations, what each
	// sees now.
	Where *Where `json:"where,omitempty"`
	// Failures counts the failed probes so far.
	Failures int `json:"failures,omitempty"`
	// ResolvedBy names who closed the incident by hand; empty when the
	// shop came back.
	ResolvedBy string `json:"resolved_by,omitempty"`
	// AckBy and AckAt say who acknowledged the incident and when.
	AckBy string    `json:"ack_by,omitempty"`
	AckAt time.Time `json:"ack_at,omitzero"`
	// Silenced says who silenced the alert, and until when.
	Silenced *Silenced `json:"silenced,omitempty"`
	// Destination and Detail say, for DeliveryFailed, which destination
	// refused and why (the platform's error, as it gave it).
	Destination string `json:"destination,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// Changes and Window say, for Flapping, how many times the check
	// changed state within how long; Since, for Steady, when it last did.
	Changes int           `json:"changes,omitempty"`
	Window  time.Duration `json:"window_ns,omitempty"`
	Since   time.Time     `json:"since,omitzero"`
	// Entry, Hash and At are, for ChainHead, the number, hash and time
	// of the last entry of the record's chain.
	Entry int64     `json:"entry,omitempty"`
	Hash  string    `json:"hash,omitempty"`
	At    time.Time `json:"at,omitzero"`
	// Location and Share are, for LocationCut and LocationBack, the
	// location and the share of its checks that were failing at once (in
	// percent; 0 when its canaries all failed instead). Since is when it
	// was cut off, At when it was found back.
	Location string `json:"location,omitempty"`
	Share    int    `json:"share,omitempty"`
	// Why is the code of what found a location cut off: "checks" (most of
	// its checks failing, Share of them), "canaries" or "silent" (its
	// agents not heard from).
	Why string `json:"why,omitempty"`

	// Alert is the alert the message tells of; its buttons act on it.
	Alert int64 `json:"alert,omitempty"`
	// Items are the checks of an alert that groups several, each with
	// its incident; empty when the alert is about one check, which the
	// fields above then describe.
	Items []Item `json:"items,omitempty"`
	// Of is how many checks the merchant has, for "3 of 5".
	Of int `json:"of,omitempty"`
	// Provider is the outage of the hosting provider the checks are
	// part of, or for ProviderDown and ProviderUp the outage itself.
	Provider *ProviderOutage `json:"provider,omitempty"`
	// Reason says why this message goes out now: an escalation step, an
	// acknowledgement that timed out.
	Reason *Reason `json:"reason,omitempty"`
	// Note is the English reason of a message queued by a version before
	// reasons had codes; it is shown as it is.
	Note string `json:"note,omitempty"`
}

// The reasons a message goes out when it does.
const (
	// Escalated: nobody has acknowledged since Reason.Since.
	Escalated = "escalated"
	// AckTimeout: acknowledged by Reason.By at Reason.Since, and still
	// down Reason.After later.
	AckTimeout = "ack_timeout"
)

// Reason is why a message goes out now, as a code and its facts.
type Reason struct {
	Code  string        `json:"code"`
	Since time.Time     `json:"since,omitzero"`
	By    string        `json:"by,omitempty"`
	After time.Duration `json:"after_ns,omitempty"`
}

// Silenced is a silence that holds an alert's messages.
type Silenced struct {
	By    string    `json:"by"`
	Until time.Time `json:"until"`
}

// Item is one check of a grouped alert.
type Item struct {
	Incident int64  `json:"incident"`
	Check    string `json:"check"`
	// Source, Title and Labels are as Message's.
	Source string            `json:"source,omitempty"`
	Title  string            `json:"title,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Start  time.Time         `json:"start"`
	// End is when the check came back; zero while down.
	End   time.Time `json:"end,omitzero"`
	Error string    `json:"error,omitempty"`
	AckBy string    `json:"ack_by,omitempty"`
	Where *Where    `json:"where,omitempty"`
}

// Where says where a check probed from several locations is seen down
// from now: the locations that see it down, those that still reach it,
// and those cut off, which do not count; Of is how many probe it.
type Where struct {
	Down []string `json:"down,omitempty"`
	Up   []string `json:"up,omitempty"`
	Cut  []string `json:"cut,omitempty"`
	Of   int      `json:"of"`
}

// ProviderOutage is many checks of one hosting provider down together.
type ProviderOutage struct {
	Name  string    `json:"name"`
	Down  int       `json:"down"` // checks down
	Of    int       `json:"of"`   // checks on the provider
	Since time.Time `json:"since"`
	End   time.Time `json:"end,omitzero"`
}

// Encode is m as the outbox holds it.
func Encode(m Message) ([]byte, error) {
	m.V = Version
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return b, nil
}

// Decode reads a message the outbox holds, of this version or any before.
func Decode(payload []byte) (Message, error) {
	var probe struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	switch probe.V {
	case 0:
		return decodeV0(payload)
	case Version:
		var m Message
		if err := json.Unmarshal(payload, &m); err != nil {
			return Message{}, fmt.Errorf("decode message: %w", err)
		}
		return m, nil
	}
	return Message{}, fmt.Errorf("decode message: version %d is newer than this hostwatch knows (%d)", probe.V, Version)
}

// decodeV0 reads a message of the first version: Go's field names, and the
// reasons as English sentences.
func decodeV0(payload []byte) (Message, error) {
	type item struct {
		Incident   int64
		Check      string
		Start, End time.Time
		Error      string
		AckBy      string
	}
	var v0 struct {
		Kind                Kind
		Incident            int64
		Merchant, Check     string
		Start, End          time.Time
		Error               string
		Failures            int
		ResolvedBy, AckBy   string
		AckAt               time.Time
		Destination, Detail string
		Alert               int64
		Items               []item
		Of                  int
		Provider            *ProviderOutage
		Note                string
	}
	if err := json.Unmarshal(payload, &v0); err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	m := Message{V: Version, Kind: v0.Kind, Incident: v0.Incident, Merchant: v0.Merchant, Check: v0.Check,
		Start: v0.Start, End: v0.End, Error: v0.Error, Failures: v0.Failures, ResolvedBy: v0.ResolvedBy,
		AckBy: v0.AckBy, AckAt: v0.AckAt, Destination: v0.Destination, Detail: v0.Detail, Alert: v0.Alert,
		Of: v0.Of, Provider: v0.Provider, Note: v0.Note}
	for _, it := range v0.Items {
		m.Items = append(m.Items, Item{Incident: it.Incident, Check: it.Check, Start: it.Start, End: it.End, Error: it.Error, AckBy: it.AckBy})
	}
	return m, nil
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

// Redact takes a URL that is a credential out of text that a receiver or
// a library wrote, such as an error page that echoes the request: the URL
// whole, its path with its query, each of them alone, and any path segment
// or query value long enough to be a token, each as written, unescaped and
// HTML-escaped. The host stays: it says where, not how to get in.
func Redact(text, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || rawURL == "" {
		return text
	}
	var secret []string
	add := func(s string, least int) {
		unescaped, err := url.QueryUnescape(s)
		if err != nil {
			unescaped = s
		}
		for _, v := range []string{s, unescaped, html.EscapeString(s), html.EscapeString(unescaped)} {
			if len(v) >= least && v != "/" {
				secret = append(secret, v)
			}
		}
	}
	for _, whole := range []string{rawURL, u.String(), u.RequestURI(), u.EscapedPath(), u.RawQuery} {
		add(whole, 2)
	}
	// Short pieces ("hook", "v1") are no secret, and taking them out
	// would garble the text.
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		add(seg, minSecret)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(url.QueryEscape(v), minSecret)
		}
	}
	// The longest first: the URL goes as one, not piece by piece.
	slices.SortFunc(secret, func(a, b string) int { return len(b) - len(a) })
	for _, v := range secret {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}

// minSecret is the length from which a path segment or a query value may
// be a token.
const minSecret = 12

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
