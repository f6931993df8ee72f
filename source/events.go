package source

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

func init() { Register("events", events{}) }

// events reads PagerDuty's Events API v2: one alert event a request,
// trigger, acknowledge or resolve, that carries its token as routing_key.
// Anything that sends PagerDuty's events can send them here instead.
type events struct{}

// event is an alert event of the Events API v2. Its images, links,
// client and client_url are for people in PagerDuty's pages and are left
// to the evidence.
type event struct {
	RoutingKey  string        `json:"routing_key"`
	EventAction string        `json:"event_action"`
	DedupKey    string        `json:"dedup_key"`
	Payload     *eventPayload `json:"payload"`
}

// eventPayload is what a trigger says of its alert (PagerDuty's Common
// Event Format).
type eventPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// eventReply is PagerDuty's answer to an event it accepted.
type eventReply struct {
	Status   string `json:"status"`
	Message  string `json:"message"`
	DedupKey string `json:"dedup_key"`
}

// PagerDuty's limits.
const (
	maxDedupKey = 255
	maxSummary  = 1024
	// maxTitle is how much of the summary names the alert.
	maxTitle = 80
)

var severities = []string{"critical", "error", "warning", "info"}

// TokenInBody is true: the token is the event's routing_key.
func (events) TokenInBody() bool { return true }

// Read reads one event into a signal. A trigger without a dedup_key gets
// a new random one, answered as PagerDuty answers it, to acknowledge and
// resolve the alert by.
func (events) Read(body []byte, r Route, now time.Time) (Batch, error) {
	var e event
	if err := decode(body, &e, ""); err != nil {
		return Batch{}, err
	}
	var p eventPayload
	if e.Payload != nil {
		p = *e.Payload
	}
	var problems []string
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	if blank(e.RoutingKey) {
		problems = append(problems, "'routing_key' is missing or blank")
	}
	var action Action
	switch e.EventAction {
	case "trigger":
		action = Down
	case "acknowledge":
		action = Ack
	case "resolve":
		action = Up
	case "":
		problems = append(problems, "'event_action' is missing or blank")
	default:
		problems = append(problems, fmt.Sprintf("'event_action' is %q; it must be one of trigger, acknowledge, resolve", e.EventAction))
	}
	switch {
	case blank(e.DedupKey) && (action == Ack || action == Up):
		problems = append(problems, "'dedup_key' is missing or blank; it names the alert to "+e.EventAction)
	case utf8.RuneCountInString(e.DedupKey) > maxDedupKey:
		problems = append(problems, fmt.Sprintf("'dedup_key' is %d characters; it must be at most %d", utf8.RuneCountInString(e.DedupKey), maxDedupKey))
	}
	if action == Down {
		if blank(p.Summary) {
			problems = append(problems, "'payload.summary' is missing or blank")
		}
		if blank(p.Source) {
			problems = append(problems, "'payload.source' is missing or blank")
		}
		if p.Severity == "" {
			problems = append(problems, "'payload.severity' is missing or blank")
		}
	}
	if n := utf8.RuneCountInString(p.Summary); n > maxSummary {
		problems = append(problems, fmt.Sprintf("'payload.summary' is %d characters; it must be at most %d", n, maxSummary))
	}
	if p.Severity != "" && !slices.Contains(severities, p.Severity) {
		problems = append(problems, fmt.Sprintf("'payload.severity' must be one of %s, not %q", strings.Join(severities, ", "), p.Severity))
	}
	at, err := eventTime(p.Timestamp)
	if err != nil {
		problems = append(problems, fmt.Sprintf("'payload.timestamp' is %q; it must be an ISO 8601 time such as 2015-07-17T08:42:58.315+0000", p.Timestamp))
	}
	if len(problems) > 0 {
		return Batch{}, errors.New(strings.Join(problems, "; "))
	}

	dedup := e.DedupKey
	if blank(dedup) {
		dedup = newDedupKey()
	}
	details := customDetails(p.CustomDetails)
	s := Signal{
		Source:   r.Name,
		Key:      Key(dedup),
		Action:   action,
		At:       now,
		Title:    r.Name + "/" + cut(firstSaid(p.Summary, dedup), maxTitle),
		Summary:  p.Summary,
		Evidence: Evidence(withoutRoutingKey(body)),
	}
	if action == Down {
		s.Merchant = r.MerchantOf(details)
	}
	if !at.IsZero() && !at.After(now) {
		s.At = at
	}
	for k, v := range map[string]string{"severity": p.Severity, "source": p.Source, "component": p.Component, "group": p.Group, "class": p.Class} {
		if v != "" {
			if details == nil {
				details = map[string]string{}
			}
			details[k] = v
		}
	}
	s.Labels = details
	return Batch{
		Signals: []Signal{s},
		Token:   e.RoutingKey,
		Reply:   eventReply{Status: "success", Message: "Event processed", DedupKey: dedup},
	}, nil
}

// eventTime reads payload.timestamp: RFC 3339, or ISO 8601 with the
// offset written without a colon as PagerDuty's examples write it. An
// absent one is the zero time.
func eventTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05Z0700", s)
	}
	return t, err
}

// customDetails are the string values of payload.custom_details, which
// name the merchant and become labels; nil when it holds none (or is not
// an object: PagerDuty shows any value there).
func customDetails(raw json.RawMessage) map[string]string {
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	var out map[string]string
	for k, v := range all {
		var s string
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = s
	}
	return out
}

// withoutRoutingKey is the body as evidence: the routing_key is the
// source's token, and is not kept with the record. (JSON reads a field
// whatever the case of its name, so neither is Routing_Key.)
func withoutRoutingKey(body []byte) []byte {
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil {
		return nil
	}
	hidden := false
	for k := range all {
		if strings.EqualFold(k, "routing_key") {
			all[k] = json.RawMessage(`"<secret>"`)
			hidden = true
		}
	}
	if !hidden {
		return body
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(all) != nil {
		return nil
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// newDedupKey makes the key of a trigger that came without one: 32 hex
// digits, as random as PagerDuty's.
func newDedupKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cut is s cut to at most n runes.
func cut(s string, n int) string {
	i := 0
	for at := range s {
		if i == n {
			return s[:at]
		}
		i++
	}
	return s
}
