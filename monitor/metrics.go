package monitor

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/store"
)

var (
	upDesc = prometheus.NewDesc("hostwatch_check_up",
		"Whether the check is up (1) or down (0) by its thresholds; absent while unknown. Like blackbox_exporter's probe_success.",
		[]string{"check"}, nil)
	expiryDesc = prometheus.NewDesc("hostwatch_certificate_expiry_timestamp_seconds",
		"When the certificate a TLS check was last shown expires, in Unix seconds. Like blackbox_exporter's probe_ssl_earliest_cert_expiry.",
		[]string{"check"}, nil)
)

// checkCollector serves each check's state and certificate as it is at
// the scrape, from the monitor's own memory: no series kept per check
// between scrapes.
type checkCollector struct{ m *Monitor }

func (c checkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- expiryDesc
}

func (c checkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, w := range c.m.watched {
		if !w.owned.Load() {
			continue // another instance's to say
		}
		w.mu.Lock()
		state, expires := states[w.state.state], w.last.Expires
		w.mu.Unlock()
		switch state {
		case store.Up:
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1, w.cfg.ID)
		case store.Down:
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0, w.cfg.ID)
		}
		if !expires.IsZero() {
			ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(expires.Unix()), w.cfg.ID)
		}
	}
}
