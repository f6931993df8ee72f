package bot

import (
	"testing"
	"time"
)

func TestActionRoundTrip(t *testing.T) {
	for _, a := range []Action{
		{Verb: "ack", Incident: 12},
		{Verb: "silence", Incident: 9223372036854775807, For: time.Hour},
		{Verb: "ack", Alert: 7},
		{Verb: "silence", Alert: 9223372036854775807, For: 90 * 24 * time.Hour},
	} {
		data := a.Encode()
		if len(data) > maxData {
			t.Errorf("%q is over Telegram's 64 bytes", data)
		}
		got, err := DecodeAction(data)
		if err != nil || got != a {
			t.Errorf("%q decoded to %+v, %v; want %+v", data, got, err, a)
		}
	}
}

func TestDecodeActionRefuses(t *testing.T) {
	for _, data := range []string{"", "ack", "ack:", "ack:-1", "ack:0", "ack:x", "ack:1:2", "nuke:1",
		"silence:1", "silence:1:forever", "silence:1:-1h", "silence:1:9000h", "ack:99999999999999999999",
		"ack:g", "ack:g0", "ack:gg1", "ack:+1", "ack:g+1", "silence:g1", "silence:g-1:1h"} {
		if a, err := DecodeAction(data); err == nil {
			t.Errorf("%q accepted as %+v", data, a)
		}
	}
}

func FuzzDecodeAction(f *testing.F) {
	for _, s := range []string{"ack:12", "silence:12:1h0m0s", "silence:1:1h", "ack:", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		a, err := DecodeAction(data)
		if err != nil {
			return
		}
		if a.Incident <= 0 || (a.Verb != "ack" && a.Verb != "silence") {
			t.Fatalf("%q decoded to %+v", data, a)
		}
		again, err := DecodeAction(a.Encode())
		if err != nil || again != a {
			t.Fatalf("%q: %+v does not round-trip: %+v, %v", data, a, again, err)
		}
	})
}
