package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/notifier"
)

// Version is the version of Body; it changes only when a field changes
// meaning or goes away.
const Version = 1

// The headers of a delivery.
const (
	HeaderDelivery  = "X-Hostwatch-Delivery"  // the delivery id: the same on a retry
	HeaderEvent     = "X-Hostwatch-Event"     // the event, as in the body
	HeaderSignature = "X-Hostwatch-Signature" // "sha256=" + hex HMAC-SHA256 of the body
)

// Body is what a webhook receives.
type Body struct {
	Version  int    `json:"version"`
	Delivery string `json:"delivery"`
	// Event is incident.down, incident.resolved, provider.down,
	// provider.up, check.flapping, check.steady, record.chain_head or
	// delivery.failed.
	Event    string `json:"event"`
	Incident int64  `json:"incident"`
	Merchant string `json:"merchant"`
	Check    string `json:"check"`
	// Source, Title and Labels name an alert a source reported
	// (sources[].name, "prom/HighErrorRate", its labels); absent for a
	// configured check.
	Source          string            `json:"source,omitempty"`
	Title           string            `json:"title,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Start           time.Time         `json:"start,omitzero"`
	End             *time.Time        `json:"end,omitempty"`
	DowntimeSeconds *int64            `json:"downtime_seconds,omitempty"`
	Error           string            `json:"error,omitempty"`
	FailedProbes    int               `json:"failed_probes,omitempty"`
	// Destination and Detail: for delivery.failed, where a message could
	// not go and why.
	Destination string `json:"destination,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// Entry, Hash and At: for record.chain_head, the number, hash and
	// time of the last entry of the record's chain.
	Entry int64      `json:"entry,omitempty"`
	Hash  string     `json:"hash,omitempty"`
	At    *time.Time `json:"at,omitempty"`
	// Alert groups the incidents told of together; Checks lists them
	// when there are several, Of how many checks the merchant has.
	Alert  int64       `json:"alert,omitempty"`
	Checks []BodyCheck `json:"checks,omitempty"`
	Of     int         `json:"of,omitempty"`
	// Provider is the hosting provider's outage the checks are part of.
	Provider *BodyProvider `json:"provider,omitempty"`
	// Reason says why the message goes out now, as a code: escalated,
	// ack_timeout.
	Reason string `json:"reason,omitempty"`
	// Note says it in words, in the contact's language.
	Note string `json:"note,omitempty"`
	// Language is the language of Text and Note: en or ko.
	Language string `json:"language"`
	// Text is the message as hostwatch would print it, in the contact's
	// language.
	Text string `json:"text"`
}

// BodyCheck is one check of a grouped alert.
type BodyCheck struct {
	Incident int64             `json:"incident"`
	Check    string            `json:"check"`
	Source   string            `json:"source,omitempty"`
	Title    string            `json:"title,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Start    time.Time         `json:"start"`
	End      *time.Time        `json:"end,omitempty"`
	Error    string            `json:"error,omitempty"`
	AckBy    string            `json:"acknowledged_by,omitempty"`
}

// BodyProvider is a provider-wide outage.
type BodyProvider struct {
	Name  string     `json:"name"`
	Down  int        `json:"down"`
	Of    int        `json:"of"`
	Since time.Time  `json:"since"`
	End   *time.Time `json:"end,omitempty"`
}

// Target is one webhook: its URL and optional signing secret.
type Target struct {
	URL    string
	Secret config.Secret
}

// Webhook posts messages; an address is the name of a contact.
type Webhook struct {
	client    *http.Client
	targets   map[string]Target
	render    *notifier.Renderer
	userAgent string
	timeout   time.Duration
}

// New builds a Webhook for the contacts that have a webhook, putting
// messages into words with r.
func New(contacts []config.Contact, r *notifier.Renderer, userAgent string) *Webhook {
	targets := map[string]Target{}
	for _, c := range contacts {
		if c.Webhook != "" {
			targets[c.Name] = Target{URL: c.Webhook, Secret: c.WebhookSecret}
		}
	}
	return &Webhook{
		client:    &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		targets:   targets,
		render:    r,
		userAgent: userAgent,
		timeout:   10 * time.Second,
	}
}

var events = map[notifier.Kind]string{
	notifier.Down:           "incident.down",
	notifier.Resolved:       "incident.resolved",
	notifier.DeliveryFailed: "delivery.failed",
	notifier.ProviderDown:   "provider.down",
	notifier.ProviderUp:     "provider.up",
	notifier.Flapping:       "check.flapping",
	notifier.Steady:         "check.steady",
	notifier.ChainHead:      "record.chain_head",
	notifier.LocationCut:    "location.cut_off",
	notifier.LocationBack:   "location.back",
}

// Encode renders m as the body a webhook receives.
func Encode(r *notifier.Renderer, m notifier.Message) Body {
	loc := r.Location()
	b := Body{
		Version: Version, Delivery: strconv.FormatInt(m.ID, 10), Event: events[m.Kind],
		Incident: m.Incident, Merchant: m.Merchant, Check: m.Check, Source: m.Source, Title: m.Title, Labels: m.Labels,
		Error: m.Error, FailedProbes: m.Failures,
		Destination: m.Destination, Detail: m.Detail, Language: string(m.Lang.Or(locale.English)), Text: r.Line(m),
	}
	if !m.Start.IsZero() {
		b.Start = m.Start.In(loc)
	}
	b.Alert, b.Of, b.Note = m.Alert, m.Of, m.Note
	b.Entry, b.Hash = m.Entry, m.Hash
	if m.Reason != nil {
		b.Reason, b.Note = m.Reason.Code, r.Reason(m)
	}
	inLoc := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.In(loc)
		return &t
	}
	b.At = inLoc(m.At)
	for _, it := range m.Items {
		b.Checks = append(b.Checks, BodyCheck{Incident: it.Incident, Check: it.Check, Source: it.Source, Title: it.Title, Labels: it.Labels, Start: it.Start.In(loc),
			End: inLoc(it.End), Error: it.Error, AckBy: it.AckBy})
	}
	if p := m.Provider; p != nil {
		b.Provider = &BodyProvider{Name: p.Name, Down: p.Down, Of: p.Of, Since: p.Since.In(loc), End: inLoc(p.End)}
	}
	if !m.End.IsZero() {
		end := m.End.In(loc)
		secs := int64(m.Downtime().Round(time.Second) / time.Second)
		b.End, b.DowntimeSeconds = &end, &secs
	}
	return b
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts m to the webhook of the contact named address. The receipt is
// the delivery id.
func (w *Webhook) Send(ctx context.Context, address string, m notifier.Message) (string, error) {
	t, ok := w.targets[address]
	if !ok {
		return "", notifier.Permanent(fmt.Errorf("webhook %s: no such contact with a webhook", address))
	}
	b := Encode(w.render, m)
	body, err := json.Marshal(b)
	if err != nil {
		return "", notifier.Permanent(fmt.Errorf("webhook %s: encode: %w", address, err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return "", notifier.Permanent(fmt.Errorf("webhook %s: bad URL", address))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.userAgent)
	req.Header.Set(HeaderDelivery, b.Delivery)
	req.Header.Set(HeaderEvent, b.Event)
	if t.Secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(t.Secret.Value()), body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("webhook %s: %w", address, withoutURL(err, t.URL))
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return b.Delivery, nil
	}
	err = fmt.Errorf("webhook %s: HTTP %d: %s", address, resp.StatusCode, excerpt(page, t.URL))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return "", notifier.RetryAfter(d, err)
		}
		return "", err
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return "", err
	default:
		return "", notifier.Permanent(err)
	}
}

// excerpt is the start of an error page, on one line, without the
// webhook's URL: a page that echoes the request would put its secret in the
// log and the outbox. The URL is taken out before the page is cut, so that
// no part of it is left at the cut.
func excerpt(page []byte, rawURL string) string {
	return notifier.Clip(notifier.Redact(strings.Join(strings.Fields(string(page)), " "), rawURL), 256)
}

// withoutURL is a failed request's error without the webhook's URL, in its
// own field or in its text.
func withoutURL(err error, rawURL string) error {
	err = notifier.WithoutURL(err)
	if text := notifier.Redact(err.Error(), rawURL); text != err.Error() {
		return errors.New(text)
	}
	return err
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
