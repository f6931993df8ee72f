package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Action is what an alert button does: acknowledge an alert (every
// incident it tells of) or one incident, or silence what it is about for a
// while.
type Action struct {
	Verb     string // ack or silence
	Incident int64  // one incident: buttons of messages from before alerts
	Alert    int64
	For      time.Duration // for silence
}

// maxData is Telegram's limit on callback data, in bytes; Slack's action
// values are longer, so the one encoding fits both.
const maxData = 64

// Encode writes a as button data: "ack:g7" and "silence:g7:1h0m0s" for an
// alert, "ack:12" for an incident.
func (a Action) Encode() string {
	id := strconv.FormatInt(a.Incident, 10)
	if a.Alert != 0 {
		id = "g" + strconv.FormatInt(a.Alert, 10)
	}
	switch a.Verb {
	case "silence":
		return fmt.Sprintf("silence:%s:%s", id, a.For)
	default:
		return fmt.Sprintf("%s:%s", a.Verb, id)
	}
}

// DecodeAction reads button data, as a chat app hands it back: untrusted.
func DecodeAction(data string) (Action, error) {
	if len(data) > maxData {
		return Action{}, fmt.Errorf("button data of %d bytes, over %d", len(data), maxData)
	}
	parts := strings.Split(data, ":")
	bad := fmt.Errorf("not a button of hostwatch: %q", data)
	if len(parts) < 2 {
		return Action{}, bad
	}
	num, alert := strings.CutPrefix(parts[1], "g")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strings.HasPrefix(num, "+") {
		return Action{}, bad
	}
	a := Action{Incident: n}
	if alert {
		a = Action{Alert: n}
	}
	switch {
	case parts[0] == "ack" && len(parts) == 2:
		a.Verb = "ack"
		return a, nil
	case parts[0] == "silence" && len(parts) == 3:
		d, err := time.ParseDuration(parts[2])
		if err != nil || d <= 0 || d > 90*24*time.Hour {
			return Action{}, bad
		}
		a.Verb, a.For = "silence", d
		return a, nil
	}
	return Action{}, bad
}
