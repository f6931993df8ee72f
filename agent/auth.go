package agent

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// The headers of a signed request. The token never travels: the signature
// is an HMAC-SHA256 under it of the method, the API's path, the location,
// the timestamp, the nonce and the body.
const (
	HeaderLocation  = "X-Hostwatch-Location"
	HeaderTimestamp = "X-Hostwatch-Timestamp"
	HeaderNonce     = "X-Hostwatch-Nonce"
	HeaderSignature = "X-Hostwatch-Signature"
)

// Window is how far a request's timestamp may be from the server's clock,
// either way.
const Window = 5 * time.Minute

// replayWindow is how long a nonce is remembered: a request verifies for
// Window either side of its timestamp, ten minutes in all.
const replayWindow = 2*Window + time.Minute

// Agent is an agent the server knows: its name, the location it probes
// from, and the token it signs with.
type Agent struct {
	Name     string
	Location string
	Token    config.Secret
}

var (
	locationPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	noncePattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	timestampPattern = regexp.MustCompile(`^[0-9]{1,12}$`)
	signaturePattern = regexp.MustCompile(`^v1=[0-9a-f]{64}$`)
)

// Sign sets the headers that make req an agent's of location, signed with
// token over path (one of the API's, whatever prefix req's URL has) and
// body, at now.
func Sign(req *http.Request, path string, body []byte, location string, token config.Secret, now time.Time) {
	b := make([]byte, 18)
	rand.Read(b) // never fails
	nonce := base64.RawURLEncoding.EncodeToString(b)
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set(HeaderLocation, location)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, signature(token, req.Method, path, location, ts, nonce, body))
}

// signature is what a request carries in HeaderSignature. Each part before
// the body is free of newlines (the server checks the headers' forms), so
// no two requests sign the same text.
func signature(token config.Secret, method, path, location, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token.Value()))
	for _, part := range []string{"v1", method, path, location, timestamp, nonce} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// authError is why a request was refused, short enough to answer with:
// it never holds the token or the signature.
type authError string

func (e authError) Error() string { return string(e) }

// errReplayCheck is the error of a replay guard that could not answer: the
// request may be sent again, so it is not refused as forged.
var errReplayCheck = errors.New("could not check the request against those taken")

// signedHeaders reads the headers of a signed request, refusing any
// missing or malformed and a timestamp off by more than Window: all of it
// before the body is read.
func (s *Server) signedHeaders(r *http.Request) (location, ts, nonce, sig string, err error) {
	location, ts = r.Header.Get(HeaderLocation), r.Header.Get(HeaderTimestamp)
	nonce, sig = r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	if location == "" || ts == "" || nonce == "" || sig == "" {
		return "", "", "", "", authError("unsigned request")
	}
	if !locationPattern.MatchString(location) || !timestampPattern.MatchString(ts) ||
		!noncePattern.MatchString(nonce) || !signaturePattern.MatchString(sig) {
		return "", "", "", "", authError("malformed signature headers")
	}
	now := s.now()
	unix, _ := strconv.ParseInt(ts, 10, 64)
	if at := time.Unix(unix, 0); at.Before(now.Add(-Window)) || at.After(now.Add(Window)) {
		return "", "", "", "", authError("timestamp more than 5m off the server's clock")
	}
	return location, ts, nonce, sig, nil
}

// authenticate finds the agent that signed r for path, its headers read
// by signedHeaders and its body read: one of the agents of the location it
// names whose token verifies the signature. A nonce seen before is
// refused.
func (s *Server) authenticate(ctx context.Context, r *http.Request, path string, body []byte) (Agent, error) {
	location, ts, nonce, sig, err := s.signedHeaders(r)
	if err != nil {
		return Agent{}, err
	}
	var found *Agent
	for _, a := range s.agents.Agents(location) {
		// Every token of the location is tried, so that the time taken
		// does not tell which one came close.
		if a.Location == location && a.Token != "" &&
			hmac.Equal([]byte(sig), []byte(signature(a.Token, r.Method, path, location, ts, nonce, body))) && found == nil {
			found = &a
		}
	}
	if found == nil {
		return Agent{}, authError("bad signature")
	}
	now := s.now()
	fresh, err := s.replays.TakeOnce(ctx, "agent:"+found.Name+":"+nonce, now, now.Add(replayWindow))
	switch {
	case err != nil:
		return Agent{}, errReplayCheck
	case !fresh:
		return Agent{}, authError("replayed request")
	}
	return *found, nil
}

// ReplayGuard remembers what was taken until it expires; the store is one,
// so that a request taken by one instance is refused by every other.
type ReplayGuard interface {
	// TakeOnce records key until expires and reports whether it is new.
	TakeOnce(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// memoryGuard keeps the nonces taken in this process.
type memoryGuard struct {
	mu    sync.Mutex
	seen  map[string]time.Time // key → when it expires
	swept time.Time
}

func (g *memoryGuard) TakeOnce(_ context.Context, key string, now, expires time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.swept) > time.Minute {
		for k, until := range g.seen {
			if !until.After(now) {
				delete(g.seen, k)
			}
		}
		g.swept = now
	}
	if until, ok := g.seen[key]; ok && until.After(now) {
		return false, nil
	}
	g.seen[key] = expires
	return true, nil
}
