package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// target is a shop that counts the connections made to it and records,
// for each request, whether its TLS session was resumed.
type target struct {
	*httptest.Server
	mu      sync.Mutex
	opened  int
	closed  int
	resumed []bool
	proto   []int
}

// newTarget starts a target: plain HTTP, HTTPS, or HTTPS that offers
// HTTP/2. An HTTPS target's default tls.Config issues TLS 1.3 session
// tickets, so a client may resume.
func newTarget(t testing.TB, scheme string) *target {
	tg := &target{}
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.resumed = append(tg.resumed, r.TLS != nil && r.TLS.DidResume)
		tg.proto = append(tg.proto, r.ProtoMajor)
		tg.mu.Unlock()
		w.Write([]byte("<html>your cart is empty</html>"))
	}))
	tg.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		switch s {
		case http.StateNew:
			tg.opened++
		case http.StateClosed:
			tg.closed++
		}
	}
	switch scheme {
	case "http":
		tg.Start()
	case "https":
		tg.StartTLS()
	case "h2":
		tg.EnableHTTP2 = true
		tg.StartTLS()
	}
	t.Cleanup(tg.Close)
	return tg
}

// counts are the connections opened and closed so far.
func (tg *target) counts() (opened, closed int) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.opened, tg.closed
}

// env is an Env that trusts the target's certificate.
func (tg *target) env(t testing.TB) *Env {
	var o EnvOptions
	if tg.Certificate() != nil {
		o.RootCAs = pool(tg.Certificate())
	}
	env := NewEnv(o)
	t.Cleanup(env.Close)
	return env
}

// TestFreshConnectionPerProbe: with fresh_connection every probe opens a
// connection of its own and closes it, resuming the TLS session of the
// one before; without it, the probes share one connection.
func TestFreshConnectionPerProbe(t *testing.T) {
	const probes = 3
	tests := []struct {
		scheme      string
		fresh       bool
		wantOpened  int
		wantResumed []bool // per probe, as the server saw it
		wantProto   int
	}{
		{"http", false, 1, []bool{false, false, false}, 1},
		{"http", true, probes, []bool{false, false, false}, 1},
		{"https", false, 1, []bool{false, false, false}, 1},
		{"https", true, probes, []bool{false, true, true}, 1},
		{"h2", false, 1, []bool{false, false, false}, 2},
		{"h2", true, probes, []bool{false, true, true}, 2},
	}
	for _, tt := range tests {
		name := tt.scheme + "/keep-alive"
		if tt.fresh {
			name = tt.scheme + "/fresh"
		}
		t.Run(name, func(t *testing.T) {
			tg := newTarget(t, tt.scheme)
			env := tg.env(t)
			ch, err := env.New(httpCheck(config.HTTPCheck{URL: tg.URL + "/", Contains: "cart", FreshConnection: tt.fresh}))
			if err != nil {
				t.Fatal(err)
			}
			for i := range probes {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r := ch.Check(ctx)
				cancel()
				if !r.OK {
					t.Fatalf("probe %d: %+v", i+1, r)
				}
			}
			opened, _ := tg.counts()
			if opened != tt.wantOpened {
				t.Errorf("%d probes opened %d connections, want %d", probes, opened, tt.wantOpened)
			}
			tg.mu.Lock()
			resumed, proto := slices.Clone(tg.resumed), tg.proto[0]
			tg.mu.Unlock()
			if !slices.Equal(resumed, tt.wantResumed) {
				t.Errorf("TLS session resumed per probe = %v, want %v", resumed, tt.wantResumed)
			}
			if proto != tt.wantProto {
				t.Errorf("spoke HTTP/%d, want HTTP/%d", proto, tt.wantProto)
			}
			if !tt.fresh {
				return
			}
			// The server sees each connection closed once its probe is
			// done; it may take a moment to notice.
			deadline := time.Now().Add(5 * time.Second)
			for _, closed := tg.counts(); closed < probes; _, closed = tg.counts() {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d connections closed after the probes", closed, probes)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestFreshConnectionSeesAFullAcceptQueue is the customer's view: a server
// that takes no new connection any more still answers on the ones it
// has. A kept-alive probe finds it up; a fresh one finds it down, as a
// new customer would.
func TestFreshConnectionSeesAFullAcceptQueue(t *testing.T) {
	tests := []struct {
		fresh    bool
		wantOK   bool
		wantKind string
	}{
		{false, true, ""},
		{true, false, "refused"},
	}
	for _, tt := range tests {
		t.Run(map[bool]string{false: "keep-alive", true: "fresh"}[tt.fresh], func(t *testing.T) {
			tg := newTarget(t, "http")
			env := tg.env(t)
			c := httpCheck(config.HTTPCheck{URL: tg.URL + "/", FreshConnection: tt.fresh})
			if r := probe(t, env, c, 5*time.Second); !r.OK {
				t.Fatalf("first probe: %+v", r)
			}
			tg.Listener.Close() // no new connection from now on
			r := probe(t, env, c, 5*time.Second)
			if r.OK != tt.wantOK || r.Kind != tt.wantKind {
				t.Errorf("after the server stopped accepting: ok=%v kind=%q error=%q, want ok=%v kind=%q",
					r.OK, r.Kind, r.Error, tt.wantOK, tt.wantKind)
			}
		})
	}
}

// TestFreshConnectionKeepsTLSSettings: the trusted roots and
// skip_tls_verify apply to fresh connections as to kept-alive ones.
func TestFreshConnectionKeepsTLSSettings(t *testing.T) {
	tg := newTarget(t, "https")
	untrusting := NewEnv(EnvOptions{})
	defer untrusting.Close()
	tests := []struct {
		name       string
		env        *Env
		skipVerify bool
		wantOK     bool
		wantKind   string
	}{
		{"untrusted certificate", untrusting, false, false, "certificate"},
		{"skip_tls_verify", untrusting, true, true, ""},
		{"trusted CA", tg.env(t), false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := httpCheck(config.HTTPCheck{URL: tg.URL, SkipTLSVerify: tt.skipVerify, FreshConnection: true})
			// Twice: the second connection resumes the first's session
			// where there was one, and must come to the same verdict.
			for i := range 2 {
				r := probe(t, tt.env, c, 5*time.Second)
				if r.OK != tt.wantOK || r.Kind != tt.wantKind {
					t.Errorf("probe %d: ok=%v kind=%q error=%q, want ok=%v kind=%q", i+1, r.OK, r.Kind, r.Error, tt.wantOK, tt.wantKind)
				}
			}
		})
	}
}

// TestTransportsShareTheirSettings: the four shared transports differ
// only in what their kind says; the proxy from the environment and the
// trusted roots apply to all of them. (A proxy cannot be seen from a test
// on loopback: ProxyFromEnvironment never proxies localhost.)
func TestTransportsShareTheirSettings(t *testing.T) {
	roots := pool(newTarget(t, "https").Certificate())
	env := NewEnv(EnvOptions{RootCAs: roots})
	defer env.Close()
	if len(env.transports) != 4 {
		t.Fatalf("%d transports, want 4", len(env.transports))
	}
	proxy := reflect.ValueOf(http.ProxyFromEnvironment).Pointer()
	for k, tr := range env.transports {
		if tr.Proxy == nil || reflect.ValueOf(tr.Proxy).Pointer() != proxy {
			t.Errorf("%+v: the proxy is not the environment's", k)
		}
		tc := tr.TLSClientConfig
		if tc.RootCAs != roots || tc.InsecureSkipVerify != k.skipVerify {
			t.Errorf("%+v: roots %p (want %p), skip verify %v", k, tc.RootCAs, roots, tc.InsecureSkipVerify)
		}
		if tr.DisableKeepAlives != k.fresh || (tc.ClientSessionCache != nil) != k.fresh {
			t.Errorf("%+v: keep-alives disabled %v, session cache %v", k, tr.DisableKeepAlives, tc.ClientSessionCache != nil)
		}
	}
}

// BenchmarkHTTPKeepAlive and BenchmarkHTTPFresh time one probe against a
// loopback target in the same process, whose side of the work is counted
// too. "https-no-resumption" is a fresh connection without the session
// cache: what resumption saves.
func BenchmarkHTTPKeepAlive(b *testing.B) {
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) { benchmarkProbe(b, scheme, false, true) })
	}
}

func BenchmarkHTTPFresh(b *testing.B) {
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) { benchmarkProbe(b, scheme, true, true) })
	}
	b.Run("https-no-resumption", func(b *testing.B) { benchmarkProbe(b, "https", true, false) })
}

func benchmarkProbe(b *testing.B, scheme string, fresh, resume bool) {
	tg := newTarget(b, scheme)
	env := tg.env(b)
	if !resume {
		env.transports[transportKind{fresh: true}].TLSClientConfig.ClientSessionCache = nil
	}
	ch, err := env.New(httpCheck(config.HTTPCheck{URL: tg.URL + "/", Contains: "cart", FreshConnection: fresh}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := ch.Check(ctx); !r.OK {
			b.Fatal(r.Error)
		}
	}
	b.StopTimer()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	resumed := 0
	for _, r := range tg.resumed {
		if r {
			resumed++
		}
	}
	b.ReportMetric(float64(tg.opened)/float64(len(tg.resumed)), "conns/op")
	b.ReportMetric(float64(resumed)/float64(len(tg.resumed)), "resumed/op")
}
