package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/web"
)

// reloadRequest asks the daemon to load its file again; done hears the
// outcome.
type reloadRequest struct {
	done chan error
}

// answer tells the one who asked, if anyone did (SIGHUP does not wait).
func (r reloadRequest) answer(err error) {
	if r.done != nil {
		r.done <- err
	}
}

// reloadMetrics are the outcome of the last reload, named as Prometheus
// and Alertmanager name theirs.
type reloadMetrics struct {
	successful prometheus.Gauge
	at         prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hostwatch_config_last_reload_successful",
			Help: "Whether the last attempt to load the configuration again succeeded (1) or was refused (0)."}),
		at: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hostwatch_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration running now was loaded."}),
	}
	reg.MustRegister(m.successful, m.at)
	m.succeeded()
	return m
}

func (m *reloadMetrics) succeeded() {
	m.successful.Set(1)
	m.at.SetToCurrentTime()
}

func (m *reloadMetrics) failed() { m.successful.Set(0) }

// frontDoor is the daemon's HTTP handler across reloads: POST /-/reload,
// and the running generation's handler for everything else.
type frontDoor struct {
	current    func() http.Handler
	reload     chan<- reloadRequest
	done       <-chan struct{} // the daemon is stopping
	adminToken func() string
	// switching is set while one generation stops and the next starts:
	// the chat apps' webhooks, the intakes and the pings are answered
	// 503, so that Telegram, Alertmanager and the others send again and
	// Slack and the job's curl say it failed, where the stopping
	// generation would take it and drop it.
	switching atomic.Bool
}

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.switching.Load() && (strings.HasPrefix(r.URL.Path, "/telegram/") || strings.HasPrefix(r.URL.Path, "/slack/") ||
		strings.HasPrefix(r.URL.Path, "/intake/") || strings.HasPrefix(r.URL.Path, "/ping/")) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "reloading the configuration; send again shortly", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/-/reload" {
		f.current().ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST to reload the configuration", http.StatusMethodNotAllowed)
		return
	}
	if !admin(r, f.adminToken()) {
		http.Error(w, "reload is allowed from this machine, or with http.admin_token as a bearer token", http.StatusForbidden)
		return
	}
	req := reloadRequest{done: make(chan error, 1)}
	stopping := func() {
		http.Error(w, "the daemon is stopping", http.StatusServiceUnavailable)
	}
	select {
	case f.reload <- req:
	case <-f.done:
		stopping()
		return
	case <-r.Context().Done():
		return
	}
	var err error
	select {
	case err = <-req.done:
	case <-f.done:
		stopping()
		return
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "the configuration was not loaded; the running one goes on:\n%s\n", err)
		return
	}
	fmt.Fprintln(w, "configuration reloaded")
}

// admin says whether r may do what only the operator may: it comes from
// this machine, not through a proxy, or it carries the admin token.
func admin(r *http.Request, token string) bool {
	if web.Carries(r, token, false) {
		return true
	}
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false // a proxy on this machine speaks for someone else
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// runReload asks the daemon running on a configuration to load it again:
// it answers once the new one runs, or with the errors that kept it out.
func runReload(args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("reload", stderr)
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the daemon's answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(*path, config.Options{Offline: true})
	if err != nil {
		// The daemon would refuse it too; say why here.
		fmt.Fprintln(stderr, err)
		return exitError(1)
	}
	url, err := localURL(listenAddr(cfg.HTTP.Listen), "/-/reload")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	if t := cfg.HTTP.AdminToken.Value(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("the daemon did not answer within %s", *timeout)
		}
		return fmt.Errorf("is the daemon running? %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, strings.TrimSuffix(string(body), "\n"))
		return exitError(1)
	}
	fmt.Fprint(stdout, string(body))
	return nil
}
