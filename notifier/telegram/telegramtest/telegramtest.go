// Package telegramtest is a fake Telegram Bot API for tests, strict the way
// Telegram is: an unknown method is a 404, a wrong token a 401, a missing
// chat_id or text a 400, an edit that changes nothing "message is not
// modified", a chat that blocked the bot a 403. It records every call, can
// hand out injected updates through getUpdates (holding the call for its
// timeout while there are none, or answering at once), and can be told to
// answer 429 with parameters.retry_after, 5xx, or slowly.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Call is one request the server answered.
type Call struct {
	At     time.Time
	Method string
	Params url.Values
	Status int
}

// Message is a message as the fake holds it.
type Message struct {
	ChatID    int64
	MessageID int
	Text      string
	ParseMode string
	Markup    string // reply_markup JSON, "" when none
	// NoPreview says the message was sent with disable_web_page_preview.
	NoPreview bool
	Edits     int
	// Document and Data are the file name and content of a document;
	// Text is then its caption.
	Document string
	Data     []byte
	// At is when the fake accepted the message: for measuring how long a
	// message took to arrive.
	At time.Time
}

// Server is the fake Bot API.
type Server struct {
	*httptest.Server
	token string

	mu        sync.Mutex
	calls     []Call
	messages  map[int64][]*Message // by chat
	nextID    int
	blocked   map[int64]bool
	known     map[int64]bool // chats that exist; nil: every chat exists
	updates   []json.RawMessage
	nextUpd   int
	failNext  []failure
	delay     time.Duration
	webhook   string
	secretTok string
	waiters   []chan struct{}
	limits    bool
	limited   int
	sentAll   []time.Time
	sentChat  map[int64][]time.Time
	failUntil time.Time
	atOnce    bool // getUpdates ignores timeout
}

type failure struct {
	status     int
	retryAfter int
}

// New starts a fake for the bot with token.
func New(token string) *Server {
	s := &Server{token: token, messages: map[int64][]*Message{}, blocked: map[int64]bool{}, nextUpd: 1, sentChat: map[int64][]time.Time{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Endpoint is the api_endpoint to configure: URL + "/bot%s/%s".
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Block makes chat answer 403, as when its user blocked the bot.
func (s *Server) Block(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chat] = true
}

// Chats makes only the given chats exist: any other is "chat not found".
func (s *Server) Chats(ids ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known = map[int64]bool{}
	for _, id := range ids {
		s.known[id] = true
	}
}

// FailNext makes the next n requests fail with status; for 429 they carry
// parameters.retry_after = retryAfter.
func (s *Server) FailNext(n, status, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, failure{status, retryAfter})
	}
}

// EnforceLimits makes the server refuse, with 429 and retry_after, a
// message that breaks Telegram's limits: 30 a second in all, one a second
// per private chat, 20 a minute per group.
func (s *Server) EnforceLimits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = true
}

// Limited counts the requests refused for breaking the limits.
func (s *Server) Limited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// FailFor makes every request answer 502 for d.
func (s *Server) FailFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failUntil = time.Now().Add(d)
}

// overLimit reports whether one more message to chat now breaks a limit;
// s.mu is held.
func (s *Server) overLimit(chat int64, now time.Time) bool {
	count := func(ts []time.Time, per time.Duration) int {
		n := 0
		for i := len(ts) - 1; i >= 0 && now.Sub(ts[i]) < per; i-- {
			n++
		}
		return n
	}
	if count(s.sentAll, time.Second) >= 30 {
		return true
	}
	if chat < 0 {
		return count(s.sentChat[chat], time.Minute) >= 20
	}
	return count(s.sentChat[chat], time.Second) >= 1
}

// AnswerAtOnce makes getUpdates answer at once, with what is queued or
// nothing, whatever timeout it was given: as an emulator or a proxy that
// does not hold long polls does.
func (s *Server) AnswerAtOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.atOnce = true
}

// Slow makes every answer wait d.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls returns the calls answered so far, of the given methods (all when
// none is given).
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns a chat's messages as they are now.
func (s *Server) Messages(chat int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[chat] {
		out = append(out, *m)
	}
	return out
}

// Webhook returns the registered webhook URL and secret token.
func (s *Server) Webhook() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.secretTok
}

// Inject queues an update for getUpdates; update_id is filled in. It
// returns the update's id.
func (s *Server) Inject(update map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextUpd + len(s.updates)
	update["update_id"] = id
	b, _ := json.Marshal(update)
	s.updates = append(s.updates, b)
	for _, w := range s.waiters {
		close(w)
	}
	s.waiters = nil
	return id
}

// Command builds a message update: text from user in chat.
func Command(chat, user int64, text string) map[string]any {
	return map[string]any{"message": map[string]any{
		"message_id": 1, "date": time.Now().Unix(), "text": text,
		"chat":     map[string]any{"id": chat, "type": chatType(chat)},
		"from":     map[string]any{"id": user, "is_bot": false, "first_name": "User", "username": fmt.Sprintf("user%d", user)},
		"entities": []map[string]any{{"type": "bot_command", "offset": 0, "length": len(strings.Fields(text + " ")[0])}},
	}}
}

// Press builds a callback query update: user pressed a button with data on
// message in chat.
func Press(chat, user int64, message int, data string) map[string]any {
	return map[string]any{"callback_query": map[string]any{
		"id":   strconv.FormatInt(time.Now().UnixNano(), 36),
		"from": map[string]any{"id": user, "is_bot": false, "first_name": "User", "username": fmt.Sprintf("user%d", user)},
		"message": map[string]any{"message_id": message, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chat, "type": chatType(chat)}},
		"chat_instance": "1",
		"data":          data,
	}}
}

func chatType(chat int64) string {
	if chat < 0 {
		return "supergroup"
	}
	return "private"
}

type reply struct {
	Ok          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *map[string]int `json:"parameters,omitempty"`
}

func (s *Server) answer(w http.ResponseWriter, call *Call, status int, r reply) {
	call.Status = status
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(r)
}

func fail(status int, description string) reply {
	return reply{ErrorCode: status, Description: description}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	var doc *upload
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			s.answer(w, &Call{At: time.Now()}, http.StatusBadRequest, fail(400, "Bad Request: bad multipart body"))
			return
		}
		r.PostForm = url.Values(r.MultipartForm.Value)
		if fs := r.MultipartForm.File["document"]; len(fs) == 1 {
			f, err := fs[0].Open()
			if err == nil {
				data, _ := io.ReadAll(f)
				f.Close()
				doc = &upload{name: fs[0].Filename, data: data}
			}
		}
	} else {
		r.ParseForm()
	}
	call := Call{At: time.Now(), Params: r.PostForm}
	defer func() {
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()
	path := strings.TrimPrefix(r.URL.Path, "/bot")
	token, method, ok := strings.Cut(path, "/")
	call.Method = method
	if !ok || token != s.token {
		s.answer(w, &call, http.StatusUnauthorized, fail(401, "Unauthorized"))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.answer(w, &call, http.StatusMethodNotAllowed, fail(405, "Method Not Allowed"))
		return
	}
	if method == "getUpdates" {
		s.getUpdates(w, r, &call)
		return
	}
	s.mu.Lock()
	if status, rep, failing := s.injectedFailure(); failing {
		s.mu.Unlock()
		s.answer(w, &call, status, rep)
		return
	}
	if s.limits && (method == "sendMessage" || method == "editMessageText") {
		chat, _ := strconv.ParseInt(r.PostForm.Get("chat_id"), 10, 64)
		now := time.Now()
		if s.overLimit(chat, now) {
			s.limited++
			s.mu.Unlock()
			rep := fail(429, "Too Many Requests: retry after 1")
			rep.Parameters = &map[string]int{"retry_after": 1}
			s.answer(w, &call, http.StatusTooManyRequests, rep)
			return
		}
		s.sentAll = append(s.sentAll, now)
		s.sentChat[chat] = append(s.sentChat[chat], now)
	}
	s.mu.Unlock()
	var status int
	var rep reply
	if method == "sendDocument" {
		status, rep = s.sendDocument(r.PostForm, doc)
	} else {
		status, rep = s.method(method, r.PostForm)
	}
	s.answer(w, &call, status, rep)
}

// upload is a file sent with a request.
type upload struct {
	name string
	data []byte
}

// sendDocument takes a file as multipart/form-data, as the Bot API does.
func (s *Server) sendDocument(p url.Values, doc *upload) (int, reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID, err := strconv.ParseInt(p.Get("chat_id"), 10, 64)
	switch {
	case err != nil:
		return 400, fail(400, "Bad Request: chat_id is empty")
	case doc == nil || len(doc.data) == 0:
		return 400, fail(400, "Bad Request: there is no document in the request")
	case len(doc.data) > 50<<20:
		return 413, fail(413, "Request Entity Too Large")
	case len([]rune(p.Get("caption"))) > 1024:
		return 400, fail(400, "Bad Request: message caption is too long")
	case s.blocked[chatID]:
		return 403, fail(403, "Forbidden: bot was blocked by the user")
	case s.known != nil && !s.known[chatID]:
		return 400, fail(400, "Bad Request: chat not found")
	}
	s.nextID++
	m := &Message{ChatID: chatID, MessageID: s.nextID, Text: p.Get("caption"), Document: doc.name, Data: doc.data, At: time.Now()}
	s.messages[chatID] = append(s.messages[chatID], m)
	return 200, reply{Ok: true, Result: map[string]any{"message_id": m.MessageID, "date": time.Now().Unix(),
		"chat": map[string]any{"id": chatID, "type": chatType(chatID)},
		"document": map[string]any{"file_id": fmt.Sprintf("doc%d", m.MessageID), "file_unique_id": fmt.Sprintf("u%d", m.MessageID),
			"file_name": doc.name, "file_size": len(doc.data)}}}
}

func (s *Server) method(method string, p url.Values) (int, reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID, chatErr := strconv.ParseInt(p.Get("chat_id"), 10, 64)
	switch method {
	case "getMe":
		return 200, reply{Ok: true, Result: map[string]any{"id": 1, "is_bot": true, "first_name": "hostwatch", "username": "hostwatch_bot"}}
	case "sendMessage":
		switch {
		case chatErr != nil:
			return 400, fail(400, "Bad Request: chat_id is empty")
		case p.Get("text") == "":
			return 400, fail(400, "Bad Request: message text is empty")
		case len([]rune(p.Get("text"))) > 4096:
			return 400, fail(400, "Bad Request: message is too long")
		case s.blocked[chatID]:
			return 403, fail(403, "Forbidden: bot was blocked by the user")
		case s.known != nil && !s.known[chatID]:
			return 400, fail(400, "Bad Request: chat not found")
		}
		if err := checkMarkup(p.Get("reply_markup")); err != nil {
			return 400, fail(400, "Bad Request: "+err.Error())
		}
		if err := checkParseMode(p.Get("parse_mode"), p.Get("text")); err != nil {
			return 400, fail(400, "Bad Request: can't parse entities: "+err.Error())
		}
		s.nextID++
		m := &Message{ChatID: chatID, MessageID: s.nextID, Text: p.Get("text"), ParseMode: p.Get("parse_mode"), Markup: p.Get("reply_markup"),
			NoPreview: p.Get("disable_web_page_preview") == "true", At: time.Now()}
		s.messages[chatID] = append(s.messages[chatID], m)
		return 200, reply{Ok: true, Result: map[string]any{"message_id": m.MessageID, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chatID, "type": chatType(chatID)}, "text": m.Text}}
	case "editMessageText", "editMessageReplyMarkup":
		if chatErr != nil {
			return 400, fail(400, "Bad Request: chat_id is empty")
		}
		if s.blocked[chatID] {
			return 403, fail(403, "Forbidden: bot was blocked by the user")
		}
		id, _ := strconv.Atoi(p.Get("message_id"))
		var m *Message
		for _, x := range s.messages[chatID] {
			if x.MessageID == id {
				m = x
			}
		}
		if m == nil {
			return 400, fail(400, "Bad Request: message to edit not found")
		}
		if err := checkMarkup(p.Get("reply_markup")); err != nil {
			return 400, fail(400, "Bad Request: "+err.Error())
		}
		text := m.Text
		if method == "editMessageText" {
			if p.Get("text") == "" {
				return 400, fail(400, "Bad Request: message text is empty")
			}
			text = p.Get("text")
		}
		markup := p.Get("reply_markup")
		if text == m.Text && markup == m.Markup {
			return 400, fail(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
		}
		m.Text, m.Markup, m.ParseMode = text, markup, p.Get("parse_mode")
		m.Edits++
		return 200, reply{Ok: true, Result: map[string]any{"message_id": m.MessageID, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chatID, "type": chatType(chatID)}, "text": m.Text}}
	case "answerCallbackQuery":
		if p.Get("callback_query_id") == "" {
			return 400, fail(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
		}
		return 200, reply{Ok: true, Result: true}
	case "setWebhook":
		if p.Get("url") == "" {
			return 400, fail(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
		}
		s.webhook, s.secretTok = p.Get("url"), p.Get("secret_token")
		return 200, reply{Ok: true, Result: true, Description: "Webhook was set"}
	case "deleteWebhook":
		s.webhook, s.secretTok = "", ""
		return 200, reply{Ok: true, Result: true}
	}
	return 404, fail(404, "Not Found")
}

// injectedFailure is the failure the test asked for, if any is due; s.mu
// is held.
func (s *Server) injectedFailure() (int, reply, bool) {
	if time.Now().Before(s.failUntil) {
		return http.StatusBadGateway, fail(502, "Bad Gateway"), true
	}
	if len(s.failNext) == 0 {
		return 0, reply{}, false
	}
	f := s.failNext[0]
	s.failNext = s.failNext[1:]
	rep := fail(f.status, http.StatusText(f.status))
	if f.status == http.StatusTooManyRequests {
		rep.Description = fmt.Sprintf("Too Many Requests: retry after %d", f.retryAfter)
		rep.Parameters = &map[string]int{"retry_after": f.retryAfter}
	}
	return f.status, rep, true
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, call *Call) {
	p := r.Form
	params := map[string]int{}
	for name, least := range map[string]int{"offset": -1 << 31, "limit": 1, "timeout": 0} {
		if v := p.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < least || name == "limit" && n > 100 {
				s.answer(w, call, 400, fail(400, "Bad Request: wrong parameter "+name))
				return
			}
			params[name] = n
		}
	}
	offset, timeout := params["offset"], params["timeout"]
	s.mu.Lock()
	if s.atOnce {
		timeout = 0
	}
	s.mu.Unlock()
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		s.mu.Lock()
		if status, rep, failing := s.injectedFailure(); failing {
			s.mu.Unlock()
			s.answer(w, call, status, rep)
			return
		}
		if s.webhook != "" {
			s.mu.Unlock()
			s.answer(w, call, 409, fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"))
			return
		}
		// Confirm what is below offset, as Telegram does.
		if offset > 0 {
			drop := min(max(offset-s.nextUpd, 0), len(s.updates))
			s.updates = s.updates[drop:]
			s.nextUpd += drop
		}
		if len(s.updates) > 0 || !time.Now().Before(deadline) {
			out := slices.Clone(s.updates)
			s.mu.Unlock()
			s.answer(w, call, 200, reply{Ok: true, Result: out})
			return
		}
		wake := make(chan struct{})
		s.waiters = append(s.waiters, wake)
		s.mu.Unlock()
		select {
		case <-wake:
		case <-time.After(time.Until(deadline)):
		case <-r.Context().Done():
			return
		}
	}
}

// checkMarkup refuses an inline keyboard Telegram would refuse: callback
// data over 64 bytes, a button with no text.
func checkMarkup(markup string) error {
	if markup == "" || markup == "null" {
		return nil
	}
	var m struct {
		InlineKeyboard [][]struct {
			Text         string  `json:"text"`
			CallbackData *string `json:"callback_data"`
			URL          *string `json:"url"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &m); err != nil {
		return fmt.Errorf("can't parse reply keyboard markup JSON object")
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return fmt.Errorf("text buttons are unallowed in the inline keyboard")
			}
			if b.CallbackData != nil && (len(*b.CallbackData) == 0 || len(*b.CallbackData) > 64) {
				return fmt.Errorf("BUTTON_DATA_INVALID")
			}
		}
	}
	return nil
}

// CheckHTML refuses text Telegram would not parse as parse_mode HTML.
func CheckHTML(text string) error { return checkParseMode("HTML", text) }

// checkParseMode refuses HTML as Telegram does: text not in UTF-8, a tag
// it does not know, a tag closed out of order or never closed, and a stray
// '<' or '&'.
func checkParseMode(mode, text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("text must be encoded in UTF-8")
	}
	if mode != "HTML" {
		return nil
	}
	known := []string{"b", "i", "code", "pre", "u", "s"}
	var open []string
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := text[i+1 : i+end]
			name, closing := strings.CutPrefix(tag, "/")
			switch {
			case !slices.Contains(known, name):
				return fmt.Errorf("unsupported start tag %q at byte offset %d", tag, i)
			case !closing:
				open = append(open, name)
			case len(open) == 0 || open[len(open)-1] != name:
				return fmt.Errorf("unexpected end tag at byte offset %d", i)
			default:
				open = open[:len(open)-1]
			}
			i += end
		case '>':
			return fmt.Errorf("unexpected '>' at byte offset %d", i)
		case '&':
			end := strings.IndexByte(text[i:], ';')
			if end < 0 || !(slices.Contains([]string{"lt", "gt", "amp", "quot"}, text[i+1:i+end]) || strings.HasPrefix(text[i+1:i+end], "#")) {
				return fmt.Errorf("unsupported entity at byte offset %d", i)
			}
			i += end
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("can't find end tag corresponding to start tag %q", open[len(open)-1])
	}
	return nil
}
