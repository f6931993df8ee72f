package checks

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

func httpCheck(h config.HTTPCheck) *config.Check {
	if h.Method == "" {
		h.Method = "GET"
	}
	if h.MaxRedirects == nil {
		n := config.DefaultMaxRedirects
		h.MaxRedirects = &n
	}
	return &config.Check{ID: "shop/web", HTTP: &h}
}

func probe(t *testing.T, env *Env, c *config.Check, timeout time.Duration) Result {
	t.Helper()
	ch, err := env.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return ch.Check(ctx)
}

func TestHTTP(t *testing.T) {
	shop := http.NewServeMux()
	shop.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>your cart is empty</html>"))
	})
	shop.HandleFunc("/maintenance", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	shop.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Write([]byte("cart"))
	})
	shop.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" || !strings.HasPrefix(r.UserAgent(), "hostwatch") {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	})
	shop.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	shop.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusMovedPermanently)
	})
	shop.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "post only", http.StatusMethodNotAllowed)
		}
	})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	env := NewEnv(EnvOptions{})
	defer env.Close()
	zero := 0

	tests := []struct {
		name     string
		check    config.HTTPCheck
		ok       bool
		kind     string
		errorHas string
	}{
		{"up", config.HTTPCheck{URL: srv.URL + "/"}, true, "", ""},
		{"contains", config.HTTPCheck{URL: srv.URL + "/", Contains: "cart"}, true, "", ""},
		{"missing marker", config.HTTPCheck{URL: srv.URL + "/", Contains: "checkout"}, false, "content", `does not contain "checkout"`},
		{"not_contains", config.HTTPCheck{URL: srv.URL + "/", NotContains: "empty"}, false, "content", `contains "empty"`},
		{"5xx", config.HTTPCheck{URL: srv.URL + "/maintenance"}, false, "status", "status 503, want 2xx"},
		{"expected 503", config.HTTPCheck{URL: srv.URL + "/maintenance", Status: []int{503}}, true, "", ""},
		{"status list", config.HTTPCheck{URL: srv.URL + "/", Status: []int{201, 204}}, false, "status", "want 201 or 204"},
		{"too slow", config.HTTPCheck{URL: srv.URL + "/slow", MaxLatency: config.Duration{Duration: 50 * time.Millisecond}}, false, "latency", "over max_latency 50ms"},
		{"headers sent", config.HTTPCheck{URL: srv.URL + "/headers", Headers: map[string]string{"Authorization": "Bearer t"}}, true, "", ""},
		{"redirect followed", config.HTTPCheck{URL: srv.URL + "/moved", Contains: "cart"}, true, "", ""},
		{"redirect not followed", config.HTTPCheck{URL: srv.URL + "/moved", MaxRedirects: &zero}, false, "status", "status 301"},
		{"redirect loop", config.HTTPCheck{URL: srv.URL + "/loop"}, false, "error", "too many redirects"},
		{"method", config.HTTPCheck{URL: srv.URL + "/post", Method: "POST", Body: "{}"}, true, "", ""},
		{"refused", config.HTTPCheck{URL: "http://" + closedAddr(t) + "/"}, false, "refused", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probe(t, env, httpCheck(tt.check), 5*time.Second)
			if r.OK != tt.ok || r.Kind != tt.kind || !strings.Contains(r.Error, tt.errorHas) {
				t.Errorf("got ok=%v kind=%q error=%q, want ok=%v kind=%q error containing %q",
					r.OK, r.Kind, r.Error, tt.ok, tt.kind, tt.errorHas)
			}
			if r.OK && r.Latency <= 0 {
				t.Errorf("latency = %v", r.Latency)
			}
			if r.Evidence == "" && tt.kind != "refused" && tt.kind != "error" {
				t.Error("no evidence")
			}
		})
	}
}

func TestHTTPSVerifiesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()

	// The test server's CA is not trusted by default: down, for the right reason.
	env := NewEnv(EnvOptions{})
	defer env.Close()
	r := probe(t, env, httpCheck(config.HTTPCheck{URL: srv.URL}), 5*time.Second)
	if r.OK || r.Kind != "certificate" {
		t.Errorf("untrusted certificate: ok=%v kind=%q error=%q", r.OK, r.Kind, r.Error)
	}
	// skip_tls_verify accepts it.
	r = probe(t, env, httpCheck(config.HTTPCheck{URL: srv.URL, SkipTLSVerify: true}), 5*time.Second)
	if !r.OK {
		t.Errorf("skip_tls_verify: %+v", r)
	}
	// And trusting the CA does too.
	trusted := NewEnv(EnvOptions{RootCAs: pool(srv.Certificate())})
	defer trusted.Close()
	if r := probe(t, trusted, httpCheck(config.HTTPCheck{URL: srv.URL}), 5*time.Second); !r.OK {
		t.Errorf("trusted CA: %+v", r)
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hangingServer accepts connections and never answers.
func hangingServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

func TestHangingTargetsFailAtTheirTimeout(t *testing.T) {
	addr := hangingServer(t)
	env := NewEnv(EnvOptions{})
	defer env.Close()
	tests := []struct {
		name  string
		check *config.Check
	}{
		{"http", httpCheck(config.HTTPCheck{URL: "http://" + addr + "/"})},
		{"https", httpCheck(config.HTTPCheck{URL: "https://" + addr + "/"})},
		{"tls", &config.Check{ID: "shop/tls", TLS: &config.TLSCheck{Address: addr}}},
	}
	const timeout = 300 * time.Millisecond
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := probe(t, env, tt.check, timeout)
			took := time.Since(start)
			if r.OK || r.Kind != "timeout" || !strings.Contains(r.Error, "no answer within") {
				t.Errorf("got ok=%v kind=%q error=%q", r.OK, r.Kind, r.Error)
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("took %v for a timeout of %v", took, timeout)
			}
		})
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := NewEnv(EnvOptions{})
	r := probe(t, env, &config.Check{ID: "shop/db", TCP: &config.TCPCheck{Address: l.Addr().String()}}, time.Second)
	if !r.OK || !strings.Contains(r.Evidence, l.Addr().String()) {
		t.Errorf("open port: %+v", r)
	}
	r = probe(t, env, &config.Check{ID: "shop/db", TCP: &config.TCPCheck{Address: closedAddr(t)}}, time.Second)
	if r.OK || r.Kind != "refused" {
		t.Errorf("closed port: %+v", r)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.StartTLS()
	defer srv.Close()
	cert := srv.Certificate() // valid for example.com and 127.0.0.1, until 2084
	env := NewEnv(EnvOptions{RootCAs: pool(cert)})
	addr := srv.Listener.Addr().String()
	daysLeft := int(time.Until(cert.NotAfter) / (24 * time.Hour))

	tests := []struct {
		name string
		tls  config.TLSCheck
		ok   bool
		kind string
	}{
		{"valid", config.TLSCheck{Address: addr, ServerName: "example.com", MinDaysLeft: 14}, true, ""},
		{"ip address name", config.TLSCheck{Address: addr}, true, ""},
		{"wrong host name", config.TLSCheck{Address: addr, ServerName: "kim-shop.example"}, false, "certificate"},
		{"expires too soon", config.TLSCheck{Address: addr, ServerName: "example.com", MinDaysLeft: daysLeft + 1}, false, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probe(t, env, &config.Check{ID: "shop/tls", TLS: &tt.tls}, 5*time.Second)
			if r.OK != tt.ok || r.Kind != tt.kind {
				t.Errorf("got ok=%v kind=%q error=%q evidence=%q", r.OK, r.Kind, r.Error, r.Evidence)
			}
			if r.OK && !strings.Contains(r.Evidence, "days left") {
				t.Errorf("evidence = %q", r.Evidence)
			}
			if r.OK && !r.Expires.Equal(cert.NotAfter) {
				t.Errorf("expires %v, the certificate %v", r.Expires, cert.NotAfter)
			}
		})
	}
	// Untrusted: the certificate verification error, not a generic one.
	r := probe(t, NewEnv(EnvOptions{}), &config.Check{ID: "shop/tls", TLS: &config.TLSCheck{Address: addr}}, 5*time.Second)
	if r.OK || r.Kind != "certificate" {
		t.Errorf("untrusted: %+v", r)
	}
}

func TestHTTPHostHeaderAndRedactedEvidence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" {
			http.Redirect(w, r, "/status/", http.StatusFound)
			return
		}
		w.Write([]byte("host=" + r.Host))
	}))
	defer srv.Close()
	env := NewEnv(EnvOptions{})
	r := probe(t, env, httpCheck(config.HTTPCheck{URL: srv.URL + "/", Headers: map[string]string{"Host": "kim-shop.example"}, Contains: "host=kim-shop.example"}), time.Second)
	if !r.OK {
		t.Errorf("Host header not sent: %+v", r)
	}
	withPassword := strings.Replace(srv.URL, "http://", "http://admin:s3cretpw@", 1) + "/status"
	r = probe(t, env, httpCheck(config.HTTPCheck{URL: withPassword}), time.Second)
	if !r.OK || strings.Contains(r.Evidence, "s3cretpw") || !strings.Contains(r.Evidence, "after redirect") {
		t.Errorf("evidence = %q", r.Evidence)
	}
}

// TestHeartbeatHasNoChecker: a heartbeat check is pinged, not probed:
// it has no checker, and asking for one is no error.
func TestHeartbeatHasNoChecker(t *testing.T) {
	ch, err := NewEnv(EnvOptions{}).New(&config.Check{ID: "shop/backup", Heartbeat: &config.HeartbeatCheck{}})
	if ch != nil || err != nil {
		t.Errorf("New = %v, %v; want nil, nil", ch, err)
	}
}
