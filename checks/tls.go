package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

type tlsProbe struct {
	dialer      *tls.Dialer
	address     string
	minDaysLeft int
	now         func() time.Time
}

func newTLS(e *Env, c *config.Check) (Checker, error) {
	serverName := c.TLS.ServerName
	if serverName == "" {
		host, _, err := net.SplitHostPort(c.TLS.Address)
		if err != nil {
			return nil, err
		}
		serverName = host
	}
	return &tlsProbe{
		dialer: &tls.Dialer{
			NetDialer: e.dialer,
			Config:    &tls.Config{ServerName: serverName, RootCAs: e.rootCAs},
		},
		address:     c.TLS.Address,
		minDaysLeft: c.TLS.MinDaysLeft,
		now:         time.Now,
	}, nil
}

func (p *tlsProbe) Check(ctx context.Context) Result {
	start := time.Now()
	conn, err := p.dialer.DialContext(ctx, "tcp", p.address)
	latency := time.Since(start)
	if err != nil {
		return failure(ctx, err, latency)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return Result{Latency: latency, Kind: "certificate", Error: "the server sent no certificate"}
	}
	leaf := certs[0]
	left := leaf.NotAfter.Sub(p.now())
	days := int(left / (24 * time.Hour))
	r := Result{
		OK:      true,
		Latency: latency,
		Expires: leaf.NotAfter,
		Evidence: fmt.Sprintf("certificate for %s from %s expires %s (%d days left)",
			leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly), days),
	}
	if days < p.minDaysLeft {
		r.OK, r.Kind = false, "certificate"
		r.Error = fmt.Sprintf("certificate expires in %d days, under min_days_left %d", days, p.minDaysLeft)
	}
	return r
}
