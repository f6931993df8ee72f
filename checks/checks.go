package checks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// Result is what one probe saw.
type Result struct {
	OK      bool
	Latency time.Duration
	// Kind classes a failure so that repeated failures of one sort can be
	// counted together: timeout, refused, reset, dns, tls, certificate,
	// status, content, latency or error. Empty when OK.
	Kind string
	// Error says what failed, for a person. Empty when OK.
	Error string
	// Evidence is what the probe saw: a status line, addresses, a
	// certificate's expiry.
	Evidence string
	// Expires is when the certificate a TLS probe was shown expires; zero
	// for other probes.
	Expires time.Time
}

// Checker runs one probe. Check honours ctx's deadline: a target that never
// answers yields a timeout Result when the deadline passes.
type Checker interface {
	Check(ctx context.Context) Result
}

// builders is the table of probe kinds: adding one is a file and a line here.
var builders = map[string]func(*Env, *config.Check) (Checker, error){
	"http": newHTTP,
	"tcp":  newTCP,
	"dns":  newDNS,
	"tls":  newTLS,
}

// Env is what every probe shares: the HTTP transports and one dialer, so
// that thousands of checks hold one connection pool, not one each.
type Env struct {
	dialer *net.Dialer
	// transports are the four shared HTTP transports: verifying
	// certificates or not, keeping connections alive or not.
	transports map[transportKind]*http.Transport
	rootCAs    *x509.CertPool
	userAgent  string
	// header is the HTTP checks' headers when they set none of their own;
	// clients holds one client per transport and redirect limit, and
	// buffers the bodies being read: all shared by the checks.
	header  http.Header
	clients sync.Map // clientKey → *http.Client
	matches sync.Map // [contains, not_contains] → *match
	buffers sync.Pool
}

// transportKind picks one of an Env's transports.
type transportKind struct {
	skipVerify bool // for checks with skip_tls_verify
	fresh      bool // for checks with fresh_connection
}

// sessionCacheSize is how many hosts a fresh-connection transport keeps a
// TLS session for: as many as a kept-alive one keeps idle connections. A
// session is some 600 bytes (a Go server's ticket) and holds the host's
// certificates, as an idle connection would; past this many hosts the
// session least recently used is dropped.
const sessionCacheSize = 4096

// EnvOptions tunes an Env; the zero value is right for production.
type EnvOptions struct {
	// RootCAs replaces the system's trusted roots (tests use their own CA).
	RootCAs *x509.CertPool
	// UserAgent is sent with every HTTP probe.
	UserAgent string
}

// NewEnv builds the shared transports.
func NewEnv(o EnvOptions) *Env {
	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	transport := func(k transportKind) *http.Transport {
		t := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, InsecureSkipVerify: k.skipVerify},
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4096,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   0, // the probe's context bounds it
			ExpectContinueTimeout: time.Second,
		}
		if k.fresh {
			// A connection per probe, closed after it, as a new customer
			// makes one: a server that accepts no new connections is
			// down even while old ones still answer. Resuming the TLS
			// session keeps the handshake cheap: no certificate to send,
			// sign and verify again.
			t.DisableKeepAlives = true
			t.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(sessionCacheSize)
		}
		return t
	}
	transports := map[transportKind]*http.Transport{}
	for _, skipVerify := range []bool{false, true} {
		for _, fresh := range []bool{false, true} {
			k := transportKind{skipVerify: skipVerify, fresh: fresh}
			transports[k] = transport(k)
		}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "hostwatch"
	}
	return &Env{dialer: dialer, transports: transports, rootCAs: o.RootCAs, userAgent: ua,
		header: http.Header{"User-Agent": {ua}}, buffers: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Close drops the idle connections.
func (e *Env) Close() {
	for _, t := range e.transports {
		t.CloseIdleConnections()
	}
}

// New builds the Checker for a configured check. A heartbeat check has
// none (nil, nil): its job pings hostwatch, nothing probes it.
func (e *Env) New(c *config.Check) (Checker, error) {
	if c.Heartbeat != nil {
		return nil, nil
	}
	build, ok := builders[c.Kind()]
	if !ok {
		return nil, fmt.Errorf("check %s: no probe of kind %q", c.ID, c.Kind())
	}
	ch, err := build(e, c)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", c.ID, err)
	}
	return ch, nil
}

// failure builds the Result of a probe that could not complete, classing the
// error by what went wrong.
func failure(ctx context.Context, err error, latency time.Duration) Result {
	r := Result{Latency: latency, Kind: "error", Error: err.Error()}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		r.Error = uerr.Err.Error()
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownAuth x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		r.Kind = "timeout"
		r.Error = fmt.Sprintf("no answer within %s", latency.Round(time.Millisecond))
	case errors.As(err, &dnsErr):
		r.Kind = "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Kind = "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		r.Kind = "reset"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownAuth), errors.As(err, &invalid):
		r.Kind = "certificate"
	case errors.As(err, &alert), errors.As(err, &recordErr):
		r.Kind = "tls"
	}
	return r
}
