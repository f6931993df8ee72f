package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

func init() {
	Register("alertmanager", webhook{tool: "Alertmanager", versions: []string{"4"}})
}

// webhook reads the body of Alertmanager's webhook (version 4), and of
// the tools that send its shape: Grafana alerting's webhook contact point.
// One signal for each alert of the group: down while it fires, up once
// resolved.
type webhook struct {
	// tool names the sender in errors.
	tool string
	// versions are the values of "version" read; "" reads a body without
	// one.
	versions []string
	// valueString says an alert's valueString (Grafana) tells what it
	// is about when its annotations do not.
	valueString bool
}

// webhookBody is what an intake reads of the group: the rest (receiver,
// groupKey, groupLabels, commonLabels, externalURL...) repeats what each
// alert carries or tells nothing of it.
type webhookBody struct {
	Version *string           `json:"version"`
	Alerts  []json.RawMessage `json:"alerts"`
}

// webhookAlert is one alert of the group, as far as a signal needs it.
type webhookAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt"`
	EndsAt      string            `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
	ValueString string            `json:"valueString"`
}

// TokenInBody is false: the sender carries the token as a bearer token
// (Alertmanager's http_config.authorization, Grafana's Authorization
// header).
func (webhook) TokenInBody() bool { return false }

// Read reads the group's alerts into one signal each, or refuses the whole
// body over one alert it cannot read.
func (w webhook) Read(body []byte, r Route, now time.Time) (Batch, error) {
	var b webhookBody
	if err := decode(body, &b, ""); err != nil {
		return Batch{}, err
	}
	version := ""
	if b.Version != nil {
		version = *b.Version
	}
	switch {
	case slices.Contains(w.versions, version):
	case version == "":
		return Batch{}, fmt.Errorf("the body has no version; this intake reads %s's webhook of version %s", w.tool, w.wanted())
	default:
		return Batch{}, fmt.Errorf("version is %q; this intake reads %s's webhook of version %s", version, w.tool, w.wanted())
	}
	if b.Alerts == nil {
		return Batch{}, fmt.Errorf(`the body has no "alerts" array; %s's webhook carries its alerts there`, w.tool)
	}
	sigs := make([]Signal, 0, len(b.Alerts))
	for i, raw := range b.Alerts {
		s, err := w.alert(raw, fmt.Sprintf("alerts[%d]", i), r, now)
		if err != nil {
			return Batch{}, err
		}
		sigs = append(sigs, s)
	}
	return Batch{Signals: sigs}, nil
}

// wanted lists the versions read, for an error.
func (w webhook) wanted() string {
	var quoted []string
	for _, v := range w.versions {
		if v != "" {
			quoted = append(quoted, fmt.Sprintf("%q", v))
		}
	}
	return strings.Join(quoted, " or ")
}

// alert reads one alert, raw, that stands at at in the body.
func (w webhook) alert(raw json.RawMessage, at string, r Route, now time.Time) (Signal, error) {
	var a webhookAlert
	if err := decode(raw, &a, at); err != nil {
		return Signal{}, err
	}
	name := a.Labels["alertname"]
	if strings.TrimSpace(name) == "" {
		return Signal{}, fmt.Errorf("%s: labels.alertname is missing or blank; every alert needs the alertname label that names it", at)
	}
	s := Signal{
		Source:   r.Name,
		Key:      webhookKey(a),
		Merchant: r.MerchantOf(a.Labels),
		Title:    r.Name + "/" + name,
		Labels:   a.Labels,
	}
	var when, field string
	switch a.Status {
	case "firing":
		s.Action, when, field = Down, a.StartsAt, "startsAt"
	case "resolved":
		s.Action, when, field = Up, a.EndsAt, "endsAt"
	default:
		return Signal{}, fmt.Errorf(`%s.status is %q; it must be "firing" or "resolved"`, at, a.Status)
	}
	t, err := webhookTime(when)
	if err != nil {
		return Signal{}, fmt.Errorf("%s.%s is %q; it must be an RFC 3339 time such as 2021-10-12T09:51:03.157076+02:00", at, field, when)
	}
	s.At = now
	if !t.IsZero() && !t.After(now) {
		s.At = t
	}
	s.Summary = firstSaid(a.Annotations["summary"], a.Annotations["description"])
	if s.Summary == "" && w.valueString {
		s.Summary = firstSaid(a.ValueString)
	}
	if s.Summary == "" {
		s.Summary = name
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		compact.Reset()
		compact.Write(raw)
	}
	s.Evidence = Evidence(compact.Bytes())
	return s, nil
}

// webhookKey is the alert's fingerprint, or when the sender gave none,
// one of its labels: the same set makes the same key.
func webhookKey(a webhookAlert) string {
	if a.Fingerprint != "" {
		return Key(a.Fingerprint)
	}
	// A map is marshalled with its keys sorted, and a string cannot fail.
	labels, _ := json.Marshal(a.Labels)
	return Key(string(labels))
}

// webhookTime reads startsAt or endsAt; Go's zero time, which both tools
// send for "not yet", and an absent one are the zero time.
func webhookTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// firstSaid is the first of texts that says something.
func firstSaid(texts ...string) string {
	for _, t := range texts {
		if strings.TrimSpace(t) != "" {
			return t
		}
	}
	return ""
}
