package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Command is a parsed chat command: "/ack 12" is {Name: "ack", Args: ["12"]}.
type Command struct {
	Name string
	Args []string
}

// maxCommand bounds the text looked at: no real command is longer.
const maxCommand = 1024

// ParseCommand reads a command typed in a chat. In Telegram it starts with
// "/" and may name the bot ("/status@hostwatch_bot"); a command addressed
// to another bot is not for us (ok false). In Slack the text after
// "/hostwatch" comes without a slash. botName is the bot's username; empty
// takes a command addressed to any bot.
func ParseCommand(text, botName string) (c Command, ok bool) {
	if len(text) > maxCommand || !utf8.ValidString(text) {
		return Command{}, false
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return Command{Name: "help"}, true
	}
	name := strings.TrimPrefix(fields[0], "/")
	if at := strings.IndexByte(name, '@'); at >= 0 {
		if botName != "" && !strings.EqualFold(name[at+1:], botName) {
			return Command{}, false
		}
		name = name[:at]
	}
	return Command{Name: strings.ToLower(name), Args: fields[1:]}, true
}

// usage is how each command is written, for help and for the answer to a
// malformed one.
var usage = []struct{ name, args, does string }{
	{"status", "", "every check you may see: state, since when, last latency"},
	{"incidents", "[open|all]", "incidents with number, state, start, duration, who acknowledged"},
	{"ack", "N", "acknowledge incident N: escalation stops, the alerts say who"},
	{"resolve", "N", "close incident N by hand"},
	{"silence", "TARGET DURATION [reason]", "mute merchant/check, merchant or provider:NAME"},
	{"silences", "", "list silences"},
	{"unsilence", "N", "lift silence N"},
	{"report", "[PERIOD]", "downtime and uptime per check over a period, with a CSV"},
	{"claim", "[MONTH] [PROVIDER]", "the credit a provider's SLA owes for a month, with the claim attached"},
	{"check", "NAME", "probe now and answer with the result; for a heartbeat, its ping URL and when it is due"},
	{"help", "", "this list"},
}

func usageOf(name, prefix string) string {
	for _, u := range usage {
		if u.name == name {
			return strings.TrimSpace(fmt.Sprintf("%s%s %s", prefix, u.name, u.args))
		}
	}
	return prefix + name
}
