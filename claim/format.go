package claim

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// Money writes an amount in whole units with its currency: 55,000 KRW.
func Money(amount int64, currency string) string {
	digits := strconv.FormatInt(amount, 10)
	sign := ""
	if amount < 0 {
		sign, digits = "-", digits[1:]
	}
	var b []byte
	for i, d := range []byte(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, d)
	}
	if currency == "" {
		return sign + string(b)
	}
	return sign + string(b) + " " + currency
}

// The JSON shapes of a claim: the README's "Compensation claims" documents
// them, and they change only by adding keys.
type (
	jsonClaim struct {
		Provider           string       `json:"provider"`
		Merchant           string       `json:"merchant"`
		Month              string       `json:"month"`
		From               time.Time    `json:"from"`
		To                 time.Time    `json:"to"`
		Until              time.Time    `json:"until"`
		Partial            bool         `json:"partial"`
		Measure            string       `json:"measure"`
		ExcludeMaintenance bool         `json:"exclude_maintenance"`
		PromisedPercent    float64      `json:"promised_percent"`
		UptimePercent      float64      `json:"uptime_percent"`
		MeasuredSeconds    int64        `json:"measured_seconds"`
		DowntimeSeconds    int64        `json:"downtime_seconds"`
		MaintenanceSeconds int64        `json:"maintenance_seconds"`
		Tier               *jsonTier    `json:"tier"`
		MonthlyFee         int64        `json:"monthly_fee"`
		Currency           string       `json:"currency"`
		Credit             int64        `json:"credit"`
		Checks             []jsonCheck  `json:"checks"`
		Outages            []jsonOutage `json:"outages"`
		Maintenance        []jsonWindow `json:"maintenance"`
		Where              string       `json:"where"`
		ChainHead          string       `json:"chain_head"`
		Verify             string       `json:"verify"`
	}
	jsonTier struct {
		Below   float64 `json:"below"`
		Percent int     `json:"percent"`
	}
	jsonCheck struct {
		Check    string `json:"check"`
		Schedule string `json:"schedule"`
		Timeout  string `json:"timeout"`
	}
	jsonOutage struct {
		Start           time.Time    `json:"start"`
		End             time.Time    `json:"end"`
		DurationSeconds int64        `json:"duration_seconds"`
		Checks          []string     `json:"checks"`
		Continues       bool         `json:"continues"`
		Errors          []jsonErrors `json:"errors"`
	}
	jsonErrors struct {
		Check      string    `json:"check"`
		Kind       string    `json:"kind"`
		Count      int       `json:"count"`
		First      time.Time `json:"first"`
		FirstError string    `json:"first_error"`
		Last       time.Time `json:"last"`
		LastError  string    `json:"last_error"`
	}
	jsonWindow struct {
		Name    string    `json:"name"`
		Start   time.Time `json:"start"`
		End     time.Time `json:"end"`
		Targets []string  `json:"targets"`
	}
)

func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// JSON writes the claim as one JSON object, times in loc.
func (c *Claim) JSON(w io.Writer, loc *time.Location) error {
	out := jsonClaim{Provider: c.Provider, Merchant: c.Merchant, Month: c.Month, From: c.From.In(loc), To: c.To.In(loc),
		Until: c.Until.In(loc), Partial: c.Partial, Measure: c.Measure, ExcludeMaintenance: c.ExcludeMaintenance,
		PromisedPercent: c.Promised, UptimePercent: c.Uptime, MeasuredSeconds: seconds(c.Measured),
		DowntimeSeconds: seconds(c.Downtime), MaintenanceSeconds: seconds(c.Maintenance), MonthlyFee: c.Fee,
		Currency: c.Currency, Credit: c.Credit, Checks: []jsonCheck{}, Outages: []jsonOutage{}, Maintenance: []jsonWindow{},
		Where: c.Where, ChainHead: c.ChainHead, Verify: c.Verify}
	if c.Missed != nil {
		out.Tier = &jsonTier{Below: c.Missed.Below, Percent: c.Missed.Percent}
	}
	for _, ch := range c.Checks {
		out.Checks = append(out.Checks, jsonCheck{Check: ch.ID, Schedule: ch.Schedule, Timeout: ch.Timeout.String()})
	}
	for _, o := range c.Outages {
		jo := jsonOutage{Start: o.Start.In(loc), End: o.End.In(loc), DurationSeconds: seconds(o.Duration), Checks: o.Checks,
			Continues: o.Continues, Errors: []jsonErrors{}}
		for _, e := range o.Errors {
			jo.Errors = append(jo.Errors, jsonErrors{Check: e.Check, Kind: e.Kind, Count: e.Count, First: e.First.In(loc),
				FirstError: e.FirstError, Last: e.Last.In(loc), LastError: e.LastError})
		}
		out.Outages = append(out.Outages, jo)
	}
	for _, win := range c.Windows {
		out.Maintenance = append(out.Maintenance, jsonWindow{Name: win.Name, Start: win.Start.In(loc), End: win.End.In(loc), Targets: win.Targets})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ReadJSON reads a claim JSON wrote, to the second.
func ReadJSON(r io.Reader) (*Claim, error) {
	var in jsonClaim
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("read a claim: %w", err)
	}
	c := &Claim{Provider: in.Provider, Merchant: in.Merchant, Month: in.Month, From: in.From, To: in.To, Until: in.Until,
		Partial: in.Partial, Measure: in.Measure, ExcludeMaintenance: in.ExcludeMaintenance, Promised: in.PromisedPercent,
		Uptime: in.UptimePercent, Measured: time.Duration(in.MeasuredSeconds) * time.Second,
		Downtime: time.Duration(in.DowntimeSeconds) * time.Second, Maintenance: time.Duration(in.MaintenanceSeconds) * time.Second,
		Fee: in.MonthlyFee, Currency: in.Currency, Credit: in.Credit, Where: in.Where, ChainHead: in.ChainHead, Verify: in.Verify}
	if in.Tier != nil {
		c.Missed = &Tier{Below: in.Tier.Below, Percent: in.Tier.Percent}
	}
	for _, ch := range in.Checks {
		timeout, err := time.ParseDuration(ch.Timeout)
		if err != nil {
			return nil, fmt.Errorf("read a claim: check %s: timeout %q: %w", ch.Check, ch.Timeout, err)
		}
		c.Checks = append(c.Checks, Check{ID: ch.Check, Schedule: ch.Schedule, Timeout: timeout})
	}
	for _, o := range in.Outages {
		out := Outage{Start: o.Start, End: o.End, Duration: time.Duration(o.DurationSeconds) * time.Second, Checks: o.Checks, Continues: o.Continues}
		for _, e := range o.Errors {
			out.Errors = append(out.Errors, Errors{Check: e.Check, Kind: e.Kind, Count: e.Count, First: e.First, FirstError: e.FirstError,
				Last: e.Last, LastError: e.LastError})
		}
		c.Outages = append(c.Outages, out)
	}
	for _, w := range in.Maintenance {
		c.Windows = append(c.Windows, store.Window{Name: w.Name, Start: w.Start, End: w.End, Targets: w.Targets})
	}
	return c, nil
}
