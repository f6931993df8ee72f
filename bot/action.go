package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Action is what an alert button does: acknowledge an incident, or silence
// its check for a while.
type Action struct {
	Verb     string // ack or silence
	Incident int64
	For      time.Duration // for silence
}

// maxData is Telegram's limit on callback data, in bytes; Slack's action
// values are longer, so the one encoding fits both.
const maxData = 64

// Encode writes a as button data: "ack:12", "silence:12:1h0m0s".
func (a Action) Encode() string {
	switch a.Verb {
	case "silence":
		return fmt.Sprintf("silence:%d:%s", a.Incident, a.For)
	default:
		return fmt.Sprintf("%s:%d", a.Verb, a.Incident)
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
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || n <= 0 {
		return Action{}, bad
	}
	switch {
	case parts[0] == "ack" && len(parts) == 2:
		return Action{Verb: "ack", Incident: n}, nil
	case parts[0] == "silence" && len(parts) == 3:
		d, err := time.ParseDuration(parts[2])
		if err != nil || d <= 0 || d > 90*24*time.Hour {
			return Action{}, bad
		}
		return Action{Verb: "silence", Incident: n, For: d}, nil
	}
	return Action{}, bad
}
