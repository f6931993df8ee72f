package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestClaimInChromium writes the claim of TestClaim's record as HTML with
// the real binary and opens the file in headless Chromium with every
// network request bound to fail: the figures are in the page as Chromium
// has it, nothing in the HTML points elsewhere and Chromium's net log has no
// request but the file's own, and the page makes an A4-sized screenshot and
// a PDF. HOSTWATCH_BROWSER=required fails the test where chromium is
// missing, as for TestStatusPageInChromium.
func TestClaimInChromium(t *testing.T) {
	run := headless(t, "--window-size=1240,1754", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")
	dir, cfg := claimFixture(t)
	out := filepath.Join(dir, "claim.html")
	stdout, stderr, code := hostwatch(t, "claim", "-config", cfg, "-provider", "cloudhost", "-merchant", "kim-shop", "-month", "2025-11", "-format", "html", "-o", out)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, %q: %s", code, stdout, stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range outsideRefs(t, page) {
		t.Errorf("the claim loads from elsewhere: %s", bad)
	}

	file := (&url.URL{Scheme: "file", Path: out}).String()
	tmp := t.TempDir()

	netlog := filepath.Join(tmp, "net.json")
	dom := string(run("--dump-dom", "--log-net-log="+netlog, "--net-log-capture-mode=Everything", file))
	for _, want := range []string{
		`<td class="credit">5,500 KRW (10% of 55,000 KRW)</td>`,
		"99.745%",
		"below 99.9%: 10% of the monthly fee",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the claim as Chromium has it lacks %s:\n%s", want, dom)
		}
	}
	// A file:// page is read without the network stack, so its own load is
	// not in the net log; a request the page made would be, with the file's
	// origin as its initiator. Chromium's own background requests (update
	// checks and the like, failing here) are logged and left aside.
	asked, own := netLogRequests(t, netlog)
	for _, u := range asked {
		t.Errorf("Chromium requested %s for the claim", u)
	}
	if len(own) > 0 {
		t.Logf("Chromium's own requests, not the page's: %v", own)
	}
	// The same run on a page that does load from elsewhere finds it, so the
	// net log is one that would show the claim's requests if it made any.
	control := filepath.Join(tmp, "control.html")
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><p>control</p><img src="http://example.com/x.png">`), 0o644); err != nil {
		t.Fatal(err)
	}
	controlLog := filepath.Join(tmp, "control.json")
	run("--dump-dom", "--log-net-log="+controlLog, "--net-log-capture-mode=Everything", (&url.URL{Scheme: "file", Path: control}).String())
	if asked, _ := netLogRequests(t, controlLog); len(asked) != 1 || asked[0] != "http://example.com/x.png" {
		t.Errorf("the net log of a page with an outside image shows %v, not its request", asked)
	}

	shot := filepath.Join(tmp, "claim.png")
	run("--screenshot="+shot, file)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); len(data) < 8<<10 || b.Dx() != 1240 || b.Dy() != 1754 {
		t.Errorf("screenshot %s: %d bytes, %dx%d; want more than 8 KB, 1240x1754", shot, len(data), b.Dx(), b.Dy())
	}

	pdf := filepath.Join(tmp, "claim.pdf")
	run("--print-to-pdf="+pdf, "--no-pdf-header-footer", file)
	data, err = os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF")) {
		t.Fatalf("no PDF at %s: %v", pdf, err)
	}
	t.Logf("screenshot: %s; PDF: %s (%d bytes)", shot, pdf, len(data))
}

// outsideRefs parses page and returns what in it would load something from
// elsewhere: src or href to http(s) or any non-data: URL, a stylesheet link,
// a script with src, and @import or url( to anything but data: in CSS.
func outsideRefs(t *testing.T, page []byte) []string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	css := func(where, s string) {
		low := strings.ToLower(s)
		if strings.Contains(low, "@import") {
			bad = append(bad, where+": @import")
		}
		for rest := low; ; {
			i := strings.Index(rest, "url(")
			if i < 0 {
				break
			}
			rest = strings.TrimLeft(rest[i+len("url("):], " \t\n'\"")
			if !strings.HasPrefix(rest, "data:") {
				end := min(len(rest), 40)
				bad = append(bad, where+": url("+rest[:end])
			}
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				switch a.Key {
				case "src", "srcset", "poster", "data", "action", "formaction", "background":
					if !strings.HasPrefix(v, "data:") {
						bad = append(bad, "<"+n.Data+" "+a.Key+"="+a.Val+">")
					}
				case "href":
					if strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//") {
						bad = append(bad, "<"+n.Data+" href="+a.Val+">")
					}
				case "style":
					css("<"+n.Data+" style>", a.Val)
				}
			}
			switch n.Data {
			case "link":
				for _, a := range n.Attr {
					if a.Key == "rel" && strings.Contains(strings.ToLower(a.Val), "stylesheet") {
						bad = append(bad, "<link rel="+a.Val+">")
					}
				}
			case "script":
				for _, a := range n.Attr {
					if a.Key == "src" {
						bad = append(bad, "<script src="+a.Val+">")
					}
				}
			case "style":
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.TextNode {
						css("<style>", c.Data)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return bad
}

// netLogRequests reads Chromium's net log at path and returns the URLs of
// the requests a page made (a URL_REQUEST_START_JOB with an initiator or a
// network isolation key of a page) and of those Chromium made of its own
// accord (initiator "not an origin", key not a file's).
func netLogRequests(t *testing.T, path string) (page, own []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no net log: %v", err)
	}
	var log struct {
		Constants struct {
			EventType map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL        string `json:"url"`
				Initiator  string `json:"initiator"`
				Isolation  string `json:"network_isolation_key"`
				SiteCookie string `json:"site_for_cookies"`
			} `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("net log %s: %v", path, err)
	}
	start, ok := log.Constants.EventType["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatalf("net log %s names no URL_REQUEST_START_JOB event", path)
	}
	for _, e := range log.Events {
		if e.Type != start || e.Params.URL == "" { // the job's end has no url
			continue
		}
		p := e.Params
		if p.Initiator != "not an origin" || strings.Contains(p.Isolation, "file:") || strings.Contains(p.SiteCookie, "file:") {
			page = append(page, p.URL)
		} else {
			own = append(own, p.URL)
		}
	}
	return page, own
}
