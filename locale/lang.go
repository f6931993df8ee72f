package locale

import (
	"fmt"
	"strings"
	"time"
)

// Lang is a language hostwatch speaks, by its ISO 639-1 code.
type Lang string

// The languages.
const (
	English Lang = "en"
	Korean  Lang = "ko"
)

// Langs lists every language, the default first.
var Langs = []Lang{English, Korean}

// Parse returns the language named s ("ko", "en"); ok is false for any
// other.
func Parse(s string) (l Lang, ok bool) {
	switch Lang(s) {
	case English, Korean:
		return Lang(s), true
	}
	return "", false
}

// Or returns l, or def when l is empty.
func (l Lang) Or(def Lang) Lang {
	if l == "" {
		return def
	}
	return l
}

var koWeekdays = [...]string{"일", "월", "화", "수", "목", "금", "토"}

// Zone names the time zone of t the same way everywhere: its abbreviation
// (KST, UTC), or its offset where the zone has none.
func Zone(t time.Time) string {
	name, _ := t.Zone()
	if name == "" {
		return t.Format("-07:00")
	}
	return name
}

// Date writes the day of t: "Tue Dec 2" or "12월 2일 (화)".
func (l Lang) Date(t time.Time) string {
	if l == Korean {
		return fmt.Sprintf("%d월 %d일 (%s)", t.Month(), t.Day(), koWeekdays[t.Weekday()])
	}
	return t.Format("Mon Jan 2")
}

// Stamp writes a moment in full: "Tue Dec 2 14:02:10 KST" or
// "12월 2일 (화) 14:02:10 KST".
func (l Lang) Stamp(t time.Time) string {
	return l.Date(t) + " " + t.Format("15:04:05") + " " + Zone(t)
}

// Minute writes a moment to the minute with its zone: "Tue Dec 2 14:02 KST".
func (l Lang) Minute(t time.Time) string {
	return l.Date(t) + " " + t.Format("15:04") + " " + Zone(t)
}

// Range writes an interval as clock times, with seconds when it is short
// enough for them to matter and with the day when it crosses midnight:
// "14:02–17:14", "Nov 25 22:02–Nov 26 16:02", "11월 25일 22:02–11월 26일 16:02".
func (l Lang) Range(start, end time.Time) string {
	layout := "15:04"
	if end.Sub(start) < 10*time.Minute {
		layout = "15:04:05"
	}
	from, to := start.Format(layout), end.Format(layout)
	if start.Format(time.DateOnly) != end.Format(time.DateOnly) {
		day := func(t time.Time) string {
			if l == Korean {
				return fmt.Sprintf("%d월 %d일 ", t.Month(), t.Day())
			}
			return t.Format("Jan 2 ")
		}
		from, to = day(start)+from, day(end)+to
	}
	return from + "–" + to
}

// Duration writes a length of time the way people say it: "3h12m",
// "12m30s", "45s", "2d5h" in English; "3시간 12분", "12분 30초", "45초",
// "2일 5시간" in Korean.
func (l Lang) Duration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	var big, small int64
	var units [2]string
	switch {
	case d >= 48*time.Hour:
		big, small = int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour)
		units = [2]string{"d", "h"}
	case d >= time.Hour:
		big, small = int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		units = [2]string{"h", "m"}
	case d >= time.Minute:
		big, small = int64(d/time.Minute), int64(d%time.Minute/time.Second)
		units = [2]string{"m", "s"}
	default:
		big, units[0] = int64(d/time.Second), "s"
		if l == Korean {
			return fmt.Sprintf("%d초", big)
		}
		return fmt.Sprintf("%ds", big)
	}
	if l == Korean {
		ko := map[string]string{"d": "일", "h": "시간", "m": "분", "s": "초"}
		if small == 0 {
			return fmt.Sprintf("%d%s", big, ko[units[0]])
		}
		return fmt.Sprintf("%d%s %d%s", big, ko[units[0]], small, ko[units[1]])
	}
	if units[0] == "d" {
		return fmt.Sprintf("%d%s%d%s", big, units[0], small, units[1])
	}
	return fmt.Sprintf("%d%s%02d%s", big, units[0], small, units[1])
}

// Exact writes a length of time to the second, for the record: "1h0m0s"
// (Go's form) or "1시간 2분 3초".
func (l Lang) Exact(d time.Duration) string {
	d = d.Round(time.Second)
	if l != Korean {
		return d.String()
	}
	if d <= 0 {
		return "0초"
	}
	var parts []string
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "시간"}, {time.Minute, "분"}, {time.Second, "초"}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.d
		}
	}
	return strings.Join(parts, " ")
}

// OneLine folds every run of white space in s, new lines included, into
// one space.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// List joins names as a sentence of l does: "a, b and c"; in Korean "a,
// b, c".
func (l Lang) List(names []string) string {
	if l == Korean || len(names) < 2 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
