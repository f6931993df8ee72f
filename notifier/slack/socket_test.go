package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goslacktest "github.com/slack-go/slack/slacktest"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier/slack"
)

type recordingHandler struct {
	mu       sync.Mutex
	commands []bot.Request
	presses  []string
}

func (r *recordingHandler) Command(_ context.Context, req bot.Request) []bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, req)
	return []bot.Reply{{Text: "answer to " + req.Text}}
}

func (r *recordingHandler) Press(_ context.Context, req bot.Request, data string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.presses = append(r.presses, req.Caller+" "+data)
	return "pressed"
}

func (r *recordingHandler) Knows(id string) bool { return id == "U0KIM" }

// TestSocketMode runs the Socket Mode path against slack-go's own test
// server (apps.connections.open and a websocket): a slash command and a
// button press sent down the socket are handled and answered on their
// response_url.
func TestSocketMode(t *testing.T) {
	srv := goslacktest.NewTestServer()
	var mu sync.Mutex
	var answers []string
	srv.Handle("/response/socket", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		mu.Lock()
		answers = append(answers, body["text"].(string))
		mu.Unlock()
	})
	srv.Start()
	defer srv.Stop()
	h := &recordingHandler{}
	in := slack.NewInbound(context.Background(), "unused", srv.GetAPIURL(), h, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.SocketMode(ctx, "xoxb-test", "xapp-test", srv.GetAPIURL()) }()

	responseURL := strings.TrimSuffix(srv.GetAPIURL(), "/") + "/response/socket"
	command, _ := json.Marshal(map[string]any{
		"envelope_id": "e1", "type": "slash_commands", "accepts_response_payload": true,
		"payload": map[string]any{"command": "/hostwatch", "text": "status", "user_id": "U0KIM", "channel_id": "C0123", "response_url": responseURL},
	})
	press, _ := json.Marshal(map[string]any{
		"envelope_id": "e2", "type": "interactive", "accepts_response_payload": false,
		"payload": map[string]any{"type": "block_actions", "user": map[string]any{"id": "U0KIM"}, "channel": map[string]any{"id": "C0123"},
			"response_url": responseURL, "actions": []map[string]any{{"action_id": "ack", "block_id": "incident-12", "value": "ack:12", "type": "button"}}},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		commands, presses := len(h.commands), len(h.presses)
		h.mu.Unlock()
		mu.Lock()
		n := len(answers)
		mu.Unlock()
		if commands > 0 && presses > 0 && n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answers %v; handled %+v %v", answers, h.commands, h.presses)
		}
		// The socket may not be up yet: send until each is handled.
		if commands == 0 {
			srv.SendToWebsocket(string(command))
		}
		if presses == 0 {
			srv.SendToWebsocket(string(press))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-done
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.commands) == 0 || h.commands[0].Caller != "U0KIM" || h.commands[0].Text != "status" || h.commands[0].User != "<@U0KIM>" {
		t.Errorf("commands = %+v", h.commands)
	}
	if len(h.presses) == 0 || h.presses[0] != "U0KIM ack:12" {
		t.Errorf("presses = %v", h.presses)
	}
}
