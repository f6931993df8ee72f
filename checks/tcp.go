package checks

import (
	"context"
	"net"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

type tcpProbe struct {
	dialer  *net.Dialer
	address string
}

func newTCP(e *Env, c *config.Check) (Checker, error) {
	return &tcpProbe{dialer: e.dialer, address: c.TCP.Address}, nil
}

func (p *tcpProbe) Check(ctx context.Context) Result {
	start := time.Now()
	conn, err := p.dialer.DialContext(ctx, "tcp", p.address)
	latency := time.Since(start)
	if err != nil {
		return failure(ctx, err, latency)
	}
	remote := conn.RemoteAddr().String()
	conn.Close()
	return Result{OK: true, Latency: latency, Evidence: "connected to " + remote}
}
