package checks

import (
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/hostwatch/hostwatch/config"
)

// dnsServer answers A, AAAA, CNAME and MX questions from a fixed zone over
// UDP, and NXDOMAIN for any other name.
func dnsServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch name := strings.ToLower(q.Name.String()); {
			case name == "shop.example." && q.Type == dnsmessage.TypeA:
				b.AResource(rh, dnsmessage.AResource{A: [4]byte{192, 0, 2, 10}})
				b.AResource(rh, dnsmessage.AResource{A: [4]byte{192, 0, 2, 11}})
			case name == "shop.example." && q.Type == dnsmessage.TypeAAAA:
				b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}})
			case name == "shop.example." && q.Type == dnsmessage.TypeMX:
				b.MXResource(rh, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName("mx.host.example.")})
			case name == "www.shop.example." && (q.Type == dnsmessage.TypeCNAME || q.Type == dnsmessage.TypeA):
				b.CNAMEResource(rh, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("shop.example.")})
			case name == "www.shop.example." || name == "shop.example.":
			default:
				b = dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeNameError})
				b.StartQuestions()
				b.Question(q)
			}
			out, err := b.Finish()
			if err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNS(t *testing.T) {
	server := dnsServer(t)
	env := NewEnv(EnvOptions{})
	tests := []struct {
		name     string
		dns      config.DNSCheck
		ok       bool
		evidence string
		errorHas string
	}{
		{"A", config.DNSCheck{Name: "shop.example", Type: "A"}, true, "A 192.0.2.10, 192.0.2.11", ""},
		{"A expected", config.DNSCheck{Name: "shop.example", Type: "A", Expect: []string{"192.0.2.11"}}, true, "", ""},
		{"A moved", config.DNSCheck{Name: "shop.example", Type: "A", Expect: []string{"198.51.100.7"}}, false, "", "want 198.51.100.7"},
		{"AAAA", config.DNSCheck{Name: "shop.example", Type: "AAAA", Expect: []string{"2001:db8::1"}}, true, "AAAA 2001:db8::1", ""},
		{"CNAME", config.DNSCheck{Name: "www.shop.example", Type: "CNAME", Expect: []string{"shop.example."}}, true, "CNAME shop.example", ""},
		{"MX", config.DNSCheck{Name: "shop.example", Type: "MX", Expect: []string{"MX.host.example"}}, true, "MX mx.host.example", ""},
		{"no such name", config.DNSCheck{Name: "gone.example", Type: "A"}, false, "", "no such host"},
		{"no CNAME record", config.DNSCheck{Name: "shop.example", Type: "CNAME"}, false, "", "no CNAME record for shop.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dns.Server = server
			r := probe(t, env, &config.Check{ID: "shop/dns", DNS: &tt.dns}, 2*time.Second)
			if r.OK != tt.ok || !strings.Contains(r.Evidence, tt.evidence) || !strings.Contains(r.Error, tt.errorHas) {
				t.Errorf("got %+v, want ok=%v evidence %q error %q", r, tt.ok, tt.evidence, tt.errorHas)
			}
			if !r.OK && r.Kind != "dns" {
				t.Errorf("kind = %q", r.Kind)
			}
		})
	}
}
