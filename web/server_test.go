package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/store"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		status string
		store  string
	}{
		{"store answers", nil, http.StatusOK, "ok", "ok"},
		{"store gone", errors.New("unable to open database file /secret/path"), http.StatusServiceUnavailable, "unhealthy", "unreachable"},
		{"store refuses writes", fmt.Errorf("ping: %w", &store.Unwritable{Since: time.Now(), Reason: "database or disk is full"}),
			http.StatusServiceUnavailable, "unhealthy", "refusing writes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Options{Store: pinger{tt.err}, Gatherer: prometheus.NewRegistry()}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var h health
			if err := json.Unmarshal(body, &h); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if resp.StatusCode != tt.code || h.Status != tt.status || h.Store != tt.store {
				t.Errorf("got %d %+v", resp.StatusCode, h)
			}
			var u *store.Unwritable
			if errors.As(tt.err, &u) && (h.Reason != u.Reason || h.Since == nil) {
				t.Errorf("the reason is not given: %s", body)
			}
			if strings.Contains(string(body), "secret") {
				t.Errorf("internal error text leaked: %s", body)
			}
		})
	}
}

func TestMetricsAndRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hostwatch_probes_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(New(Options{Store: pinger{}, Gatherer: reg}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hostwatch_probes_total 3") {
		t.Errorf("metrics: %s", body)
	}
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/healthz", http.StatusMethodNotAllowed},
		{"GET", "/nope", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.code)
		}
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- New(Options{Store: pinger{}, Gatherer: prometheus.NewRegistry()}).Serve(ctx, l) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

// TestHealthzNamesTheInstance: /healthz says which instance answers, where
// it probes from and what it does; a fenced instance answers 503 and why,
// even with the store answering.
func TestHealthzNamesTheInstance(t *testing.T) {
	tests := []struct {
		name string
		self Self
		code int
	}{
		{"leader", Self{Instance: "web-1", Location: "seoul", Role: "leader"}, http.StatusOK},
		{"fenced", Self{Instance: "web-2", Role: "member", Fenced: true}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Options{Store: pinger{}, Gatherer: prometheus.NewRegistry(),
				Self: func() Self { return tt.self }}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var h health
			json.NewDecoder(resp.Body).Decode(&h)
			if resp.StatusCode != tt.code || h.Instance != tt.self.Instance || h.Location != tt.self.Location || h.Role != tt.self.Role ||
				(tt.self.Fenced && !strings.Contains(h.Reason, "lease")) {
				t.Errorf("got %d %+v", resp.StatusCode, h)
			}
		})
	}
}
