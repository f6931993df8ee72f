package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck asks a daemon's /healthz, for a container's HEALTHCHECK
// in an image with no shell or curl: exit 0 when it answers healthy, 1
// otherwise, with the reason.
func runHealthcheck(args []string, stdout, stderr io.Writer) error {
	fs, _ := newFlags("healthcheck", stderr)
	url := fs.String("url", defaultHealthURL(), "the daemon's /healthz")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintln(stderr, "hostwatch healthcheck:", err)
		return exitError(1)
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
		Store  string `json:"store"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&h); err != nil {
		fmt.Fprintf(stderr, "hostwatch healthcheck: %s answered %s, not hostwatch's health: %v\n", *url, resp.Status, err)
		return exitError(1)
	}
	if resp.StatusCode != http.StatusOK || h.Status != "ok" {
		fmt.Fprintf(stderr, "hostwatch healthcheck: %s: %s, store %s", *url, h.Status, h.Store)
		if h.Reason != "" {
			fmt.Fprintf(stderr, ": %s", h.Reason)
		}
		fmt.Fprintln(stderr)
		return exitError(1)
	}
	fmt.Fprintf(stdout, "%s: ok\n", *url)
	return nil
}

// defaultHealthURL is /healthz of the daemon HOSTWATCH_LISTEN names, else
// of one on this machine's port 8080.
func defaultHealthURL() string {
	u, err := localURL(listenAddr("127.0.0.1:8080"), "/healthz")
	if err != nil {
		return "http://127.0.0.1:8080/healthz"
	}
	return u
}

// listenAddr is where the daemon listens: HOSTWATCH_LISTEN, a container's
// address, else the file's http.listen.
func listenAddr(file string) string {
	if l := os.Getenv("HOSTWATCH_LISTEN"); l != "" {
		return l
	}
	return file
}

// localURL is path on the daemon that listens at listen, as this machine
// reaches it: an address on every interface is reached on 127.0.0.1.
func localURL(listen, path string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("http.listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
