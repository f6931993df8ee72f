package checks

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

type dnsProbe struct {
	resolver *net.Resolver
	name     string
	qtype    string
	expect   []string
}

func newDNS(e *Env, c *config.Check) (Checker, error) {
	d := c.DNS
	resolver := &net.Resolver{}
	if d.Server != "" {
		server := d.Server
		resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return e.dialer.DialContext(ctx, network, server)
			},
		}
	}
	expect := make([]string, len(d.Expect))
	for i, v := range d.Expect {
		expect[i] = normalizeAnswer(v)
	}
	return &dnsProbe{resolver: resolver, name: d.Name, qtype: d.Type, expect: expect}, nil
}

func normalizeAnswer(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

func (p *dnsProbe) Check(ctx context.Context) Result {
	start := time.Now()
	answers, err := p.lookup(ctx)
	latency := time.Since(start)
	if err != nil {
		return failure(ctx, err, latency)
	}
	r := Result{OK: true, Latency: latency, Evidence: p.qtype + " " + strings.Join(answers, ", ")}
	if len(answers) == 0 {
		r.OK, r.Kind, r.Error = false, "dns", fmt.Sprintf("no %s record for %s", p.qtype, p.name)
		return r
	}
	for _, want := range p.expect {
		if !slices.Contains(answers, want) {
			r.OK, r.Kind = false, "dns"
			r.Error = fmt.Sprintf("%s %s answers %s, want %s", p.name, p.qtype, strings.Join(answers, ", "), want)
			break
		}
	}
	return r
}

func (p *dnsProbe) lookup(ctx context.Context) ([]string, error) {
	var out []string
	switch p.qtype {
	case "A", "AAAA":
		network := "ip4"
		if p.qtype == "AAAA" {
			network = "ip6"
		}
		ips, err := p.resolver.LookupIP(ctx, network, p.name)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			out = append(out, ip.String())
		}
	case "CNAME":
		cname, err := p.resolver.LookupCNAME(ctx, p.name)
		if err != nil {
			return nil, err
		}
		// Go answers a name with no CNAME with the name itself.
		if c := normalizeAnswer(cname); c != normalizeAnswer(p.name) {
			out = append(out, c)
		}
	case "MX":
		mxs, err := p.resolver.LookupMX(ctx, p.name)
		if err != nil {
			return nil, err
		}
		for _, mx := range mxs {
			out = append(out, normalizeAnswer(mx.Host))
		}
	default:
		return nil, fmt.Errorf("unsupported record type %s", p.qtype)
	}
	slices.Sort(out)
	return out, nil
}
