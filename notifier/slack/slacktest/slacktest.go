// Package slacktest is a fake of the Slack Web API methods hostwatch uses
// (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
// conversations.open for a DM, and the
// external file upload: files.getUploadURLExternal, the upload itself,
// files.completeUploadExternal), strict
// the way Slack is: a wrong token is invalid_auth, an unknown method
// unknown_method, a missing channel or empty message an error, an unknown
// channel channel_not_found, blocks over Block Kit's limits invalid_blocks,
// mrkdwn with a stray '<' or '&' invalid_arguments. It records every message and can answer 429
// with Retry-After, 5xx, or slowly.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is a message as the fake holds it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   string // the blocks JSON
	Updates  int
}

// Server is the fake Web API.
type Server struct {
	*httptest.Server
	token string

	mu         sync.Mutex
	messages   []*Message
	next       int
	channels   map[string]bool // nil: every channel exists
	failNext   []int
	retryAfter string
	calls      map[string]int
	responses  []Response
	uploads    map[string]*File // by file id, until completed
	files      []File
	refused    []string // why messages were refused as invalid
}

// Refused says why the fake refused each message it found invalid: the
// Block Kit limit or the mrkdwn a test must not break.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// File is a file uploaded and shared in a channel.
type File struct {
	ID      string
	Channel string
	Name    string
	Title   string
	Length  int
	Data    []byte
}

// Files returns the files shared in a channel, in order.
func (s *Server) Files(channel string) []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, f := range s.files {
		if f.Channel == channel {
			out = append(out, f)
		}
	}
	return out
}

// New starts a fake for the bot token.
func New(token string) *Server {
	s := &Server{token: token, calls: map[string]int{}, uploads: map[string]*File{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// APIURL is the slack.api_url to configure.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// Channels makes only these channels exist.
func (s *Server) Channels(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels = map[string]bool{}
	for _, id := range ids {
		s.channels[id] = true
	}
}

// FailNext makes the next n requests answer status; for 429 with
// Retry-After retryAfter.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
	s.retryAfter = retryAfter
}

// Messages returns the messages of a channel, in order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Calls counts the requests to a method, answered or not.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *Server) reply(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func fail(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/response/") {
		s.respond(w, r)
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/upload/"); ok {
		s.upload(w, r, id)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	r.ParseForm()
	s.mu.Lock()
	s.calls[method]++
	if len(s.failNext) > 0 {
		status := s.failNext[0]
		s.failNext = s.failNext[1:]
		ra := s.retryAfter
		s.mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", ra)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	s.mu.Unlock()
	token := r.PostForm.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	if r.Method != http.MethodPost {
		s.reply(w, fail("invalid_request"))
		return
	}
	if token != s.token {
		s.reply(w, fail("invalid_auth"))
		return
	}
	s.reply(w, s.method(method, r.PostForm))
}

func (s *Server) method(method string, p url.Values) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	channel := p.Get("channel")
	switch method {
	case "auth.test":
		return map[string]any{"ok": true, "user_id": "UBOT", "team_id": "T1", "user": "hostwatch"}
	case "files.getUploadURLExternal":
		n, err := strconv.Atoi(p.Get("length"))
		if p.Get("filename") == "" || err != nil || n <= 0 {
			return fail("invalid_arguments")
		}
		s.next++
		id := fmt.Sprintf("F%04d", s.next)
		s.uploads[id] = &File{ID: id, Name: p.Get("filename"), Length: n}
		return map[string]any{"ok": true, "upload_url": s.URL + "/upload/" + id, "file_id": id}
	case "files.completeUploadExternal":
		return s.complete(p)
	case "conversations.open":
		user := p.Get("users")
		if user == "" || strings.Contains(user, ",") || !strings.HasPrefix(user, "U") {
			return fail("invalid_arguments")
		}
		return map[string]any{"ok": true, "channel": map[string]any{"id": "D" + user}}
	case "chat.postMessage", "chat.postEphemeral", "chat.update":
	default:
		return fail("unknown_method")
	}
	switch {
	case channel == "":
		return fail("channel_not_found")
	case s.channels != nil && !s.channels[channel]:
		return fail("channel_not_found")
	case p.Get("text") == "" && p.Get("blocks") == "":
		return fail("no_text")
	}
	if b := p.Get("blocks"); b != "" {
		if err := CheckBlocks(b); err != nil {
			s.refused = append(s.refused, err.Error())
			return fail("invalid_blocks")
		}
	}
	if err := CheckMrkdwn(p.Get("text")); err != nil {
		s.refused = append(s.refused, "text: "+err.Error())
		return fail("invalid_arguments")
	}
	switch method {
	case "chat.postEphemeral":
		if p.Get("user") == "" {
			return fail("user_not_in_channel")
		}
		return map[string]any{"ok": true, "message_ts": s.ts()}
	case "chat.update":
		for _, m := range s.messages {
			if m.Channel == channel && m.TS == p.Get("ts") {
				m.Text, m.Blocks = p.Get("text"), p.Get("blocks")
				m.Updates++
				return map[string]any{"ok": true, "channel": channel, "ts": m.TS, "text": m.Text}
			}
		}
		return fail("message_not_found")
	}
	thread := p.Get("thread_ts")
	if thread != "" && !s.exists(channel, thread) {
		return fail("thread_not_found")
	}
	m := &Message{Channel: channel, TS: s.ts(), ThreadTS: thread, Text: p.Get("text"), Blocks: p.Get("blocks")}
	s.messages = append(s.messages, m)
	return map[string]any{"ok": true, "channel": channel, "ts": m.TS}
}

// upload takes a file's bytes at the URL files.getUploadURLExternal gave:
// multipart/form-data, with the bot token.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "invalid_auth", http.StatusUnauthorized)
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 10<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.uploads[id]
	switch {
	case up == nil:
		http.Error(w, "no such upload", http.StatusNotFound)
	case err != nil || len(data) != up.Length:
		http.Error(w, fmt.Sprintf("expected %d bytes, got %d", up.Length, len(data)), http.StatusBadRequest)
	default:
		up.Data = data
		fmt.Fprintf(w, "OK - %d", len(data))
	}
}

// complete shares uploaded files in a channel; s.mu is held.
func (s *Server) complete(p url.Values) map[string]any {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &files); err != nil || len(files) == 0 {
		return fail("invalid_arguments")
	}
	channel := p.Get("channel_id")
	if channel == "" || (s.channels != nil && !s.channels[channel]) {
		return fail("channel_not_found")
	}
	var out []map[string]any
	for _, f := range files {
		up := s.uploads[f.ID]
		if up == nil || up.Data == nil {
			return fail("file_not_found")
		}
		delete(s.uploads, f.ID)
		up.Channel, up.Title = channel, f.Title
		s.files = append(s.files, *up)
		out = append(out, map[string]any{"id": up.ID, "title": up.Title})
	}
	return map[string]any{"ok": true, "files": out}
}

func (s *Server) exists(channel, ts string) bool {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return true
		}
	}
	return false
}

// ts makes a Slack timestamp; s.mu is held.
func (s *Server) ts() string {
	s.next++
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), s.next)
}

// Response is one message posted to a response_url.
type Response struct {
	Name string
	Body map[string]any
}

// ResponseURL is a response_url served by the fake, named for the test.
func (s *Server) ResponseURL(name string) string { return s.URL + "/response/" + name }

// Responses returns what was posted to the response URLs.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if _, ok := body["text"].(string); !ok {
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{Name: strings.TrimPrefix(r.URL.Path, "/response/"), Body: body})
	s.mu.Unlock()
	w.Write([]byte("ok"))
}

// Sign sets the headers Slack puts on a request it sends: the timestamp and
// the v0 signature of "v0:timestamp:body" under the signing secret.
func Sign(req *http.Request, secret string, body []byte, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// UpperHex returns a copy of the headers of a signed request with the first
// hex letter of its signature upper-cased: the same signature to Slack's
// verifier, another string to anything that compares the header's text.
func UpperHex(h http.Header) http.Header {
	h = h.Clone()
	sig := []byte(h.Get("X-Slack-Signature"))
	for i := len("v0="); i < len(sig); i++ {
		if sig[i] >= 'a' && sig[i] <= 'f' {
			sig[i] -= 'a' - 'A'
			break
		}
	}
	h.Set("X-Slack-Signature", string(sig))
	return h
}
