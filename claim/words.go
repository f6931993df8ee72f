package claim

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/report"
)

// Words put a claim into a reader's language.
type Words struct {
	Templates *locale.Templates
	Lang      locale.Lang
	Names     locale.Names
}

// view is a claim as the templates see it, its text ready for the format.
type view struct {
	Provider, Merchant, Month string
	// MerchantID is the merchant as commands name it.
	MerchantID                      string
	From, To, Until                 time.Time
	Partial, All                    bool
	ExcludeMaintenance              bool
	Promised, Uptime                string
	Measured, Downtime, Maintenance time.Duration
	Missed                          bool
	Below                           string
	Percent                         int
	Fee, Credit                     string
	Checks                          []viewCheck
	Outages                         []viewOutage
	Windows                         []viewWindow
	Where, ChainHead, Verify        string
}

type viewCheck struct {
	Name, Schedule string
	Timeout        time.Duration
}

type viewOutage struct {
	N          int
	Start, End time.Time
	Duration   time.Duration
	Checks     string
	Continues  bool
	Errors     []viewError
}

type viewError struct {
	Check, Kind           string
	Count                 int
	First, Last           time.Time
	FirstError, LastError string
}

type viewWindow struct {
	Name       string
	Start, End time.Time
	Targets    string
}

// view shapes c for the templates, every text from the record or the
// configuration passed through esc.
func (w Words) view(c *Claim, esc func(string) string) view {
	pct := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + "%" }
	v := view{Provider: esc(c.Provider), Merchant: esc(w.Names.MerchantWithID(c.Merchant)), Month: esc(c.Month), MerchantID: esc(c.Merchant),
		From: c.From, To: c.To, Until: c.Until, Partial: c.Partial, All: c.Measure == All, ExcludeMaintenance: c.ExcludeMaintenance,
		Promised: pct(c.Promised), Uptime: report.Percent(c.Uptime), Measured: c.Measured, Downtime: c.Downtime,
		Maintenance: c.Maintenance, Fee: esc(Money(c.Fee, c.Currency)), Credit: esc(Money(c.Credit, c.Currency)),
		Where: esc(c.Where), ChainHead: esc(c.ChainHead), Verify: esc(c.Verify)}
	if c.Missed != nil {
		v.Missed, v.Below, v.Percent = true, pct(c.Missed.Below), c.Missed.Percent
	}
	for _, ch := range c.Checks {
		v.Checks = append(v.Checks, viewCheck{Name: esc(w.Names.CheckWithID(ch.ID)), Schedule: esc(ch.Schedule), Timeout: ch.Timeout})
	}
	for i, o := range c.Outages {
		var names []string
		for _, id := range o.Checks {
			names = append(names, w.Names.CheckWithID(id))
		}
		vo := viewOutage{N: i + 1, Start: o.Start, End: o.End, Duration: o.Duration, Checks: esc(strings.Join(names, ", ")), Continues: o.Continues}
		for _, e := range o.Errors {
			vo.Errors = append(vo.Errors, viewError{Check: esc(w.Names.CheckWithID(e.Check)), Kind: e.Kind, Count: e.Count,
				First: e.First, Last: e.Last, FirstError: esc(e.FirstError), LastError: esc(e.LastError)})
		}
		v.Outages = append(v.Outages, vo)
	}
	for _, win := range c.Windows {
		v.Windows = append(v.Windows, viewWindow{Name: esc(win.Name), Start: win.Start, End: win.End, Targets: esc(strings.Join(win.Targets, ", "))})
	}
	return v
}

// markdownText keeps text from the record from being read as Markdown: a
// probe's error may hold |, *, or a line break.
var markdownText = strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "'", "<", "&lt;", ">", "&gt;",
	"[", "\\[", "]", "\\]", "\r\n", " ", "\n", " ", "\r", " ")

// Markdown writes the claim as a Markdown document, for an email.
func (w Words) Markdown(out io.Writer, c *Claim) error {
	s, err := w.Templates.Exec(w.Lang, "claim.markdown", w.view(c, markdownText.Replace))
	if err != nil && s == "" {
		return err
	}
	if _, werr := io.WriteString(out, s); werr != nil {
		return werr
	}
	return err
}

//go:embed page.html
var pageHTML string

// HTML writes the claim as one self-contained page, for a browser or a
// printer: its style inline, nothing loaded from elsewhere.
func (w Words) HTML(out io.Writer, c *Claim) error {
	v := w.view(c, func(s string) string { return s })
	var failed error
	say := func(name string, data any) string {
		s, err := w.Templates.Exec(w.Lang, name, data)
		if err != nil && failed == nil {
			failed = err
		}
		return strings.TrimSpace(s)
	}
	lang := w.Lang
	if lang == "" {
		lang = locale.English
	}
	loc := w.Templates.Location()
	page, err := template.New("page").Funcs(template.FuncMap{
		"say":   say,
		"iso":   func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") },
		"exact": lang.Exact,
		"lang":  func() string { return string(lang) },
	}).Parse(pageHTML)
	if err != nil {
		return fmt.Errorf("claim page: %w", err)
	}
	if err := page.Execute(out, v); err != nil {
		return fmt.Errorf("claim page: %w", err)
	}
	return failed
}
