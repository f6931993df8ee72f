package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// lans counts the LANs this process made: with the pid, it names their
// interfaces and namespaces.
var lans atomic.Int64

// lan is a bridge in the root namespace holding 10.231.N.1/24, and the
// namespaces joined to it by veth pairs, each a host of its own. The
// servers the hosts probe listen on the bridge's address, in this
// process.
type lan struct {
	t      *testing.T
	id     string // unique among the LANs of all processes: pid and index
	subnet int    // N
	bridge string
	hosts  int
}

// host is a namespace on a LAN: loopback up, 10.231.N.x/24 on its eth0,
// a default route through the bridge.
type host struct {
	ns   string
	ip   string
	veth string // the root namespace's end of its pair, on the bridge
}

// skipNetns skips the test, or fails it where HOSTWATCH_NETNS=required
// (CI), saying why namespaces cannot be made here.
func skipNetns(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("HOSTWATCH_NETNS") == "required" {
		t.Fatalf("network namespaces required (HOSTWATCH_NETNS=required): "+format, args...)
	}
	t.Skipf("no network namespaces here (set HOSTWATCH_NETNS=required to fail instead): "+format, args...)
}

// ip runs `ip args...`.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newLAN makes a bridge on a subnet no other interface holds; it is
// removed when the test ends, however it ends.
func newLAN(t *testing.T) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		skipNetns(t, "not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipNetns(t, "%v", err)
	}
	l := &lan{t: t, id: fmt.Sprintf("%d%s%d", os.Getpid(), "n", lans.Add(1))}
	l.bridge = "hw" + l.id
	// Two test processes at once must not take the same subnet: the
	// choice and the address are made under a lock.
	unlock, err := lock(filepath.Join(os.TempDir(), "hostwatch-e2e-netns.lock"))
	if err != nil {
		skipNetns(t, "%v", err)
	}
	defer unlock()
	sweep()
	if l.subnet, err = freeSubnet(); err != nil {
		skipNetns(t, "%v", err)
	}
	if err := ip("link", "add", l.bridge, "type", "bridge"); err != nil {
		skipNetns(t, "%v", err)
	}
	t.Cleanup(func() {
		if err := ip("link", "del", l.bridge); err != nil {
			t.Errorf("remove the bridge: %v", err)
		}
	})
	// Frames between the hosts stay off the root namespace's firewall,
	// whatever it drops; an older ip may not know the option.
	ip("link", "set", l.bridge, "type", "bridge", "nf_call_iptables", "0")
	for _, args := range [][]string{
		{"addr", "add", l.gateway() + "/24", "dev", l.bridge},
		{"link", "set", l.bridge, "up"},
	} {
		if err := ip(args...); err != nil {
			skipNetns(t, "%v", err)
		}
	}
	return l
}

// gateway is the bridge's address, where the servers of the test listen.
func (l *lan) gateway() string { return fmt.Sprintf("10.231.%d.1", l.subnet) }

// listen is a listener on addr, one of the bridge's addresses.
func (l *lan) listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		l.t.Fatal(err)
	}
	return ln
}

// other gives the bridge a second address, 10.231.N.254, for servers
// that are to stand on another host than the gateway's.
func (l *lan) other() string {
	l.t.Helper()
	addr := fmt.Sprintf("10.231.%d.254", l.subnet)
	if err := ip("addr", "add", addr+"/24", "dev", l.bridge); err != nil {
		l.t.Fatal(err)
	}
	return addr
}

// host makes a namespace joined to the LAN; it is removed when the test
// ends, and with it both ends of its veth pair.
func (l *lan) host(name string) *host {
	l.t.Helper()
	l.hosts++
	h := &host{ns: fmt.Sprintf("hw-%s-%s", l.id, name), ip: fmt.Sprintf("10.231.%d.%d", l.subnet, l.hosts+1),
		veth: fmt.Sprintf("%sh%d", l.bridge, l.hosts)}
	if err := ip("netns", "add", h.ns); err != nil {
		skipNetns(l.t, "%v", err)
	}
	l.t.Cleanup(func() {
		if err := ip("netns", "del", h.ns); err != nil {
			l.t.Errorf("remove the namespace: %v", err)
		}
	})
	for _, args := range [][]string{
		{"link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns},
		{"link", "set", h.veth, "master", l.bridge, "up"},
		{"-n", h.ns, "link", "set", "lo", "up"},
		{"-n", h.ns, "addr", "add", h.ip + "/24", "dev", "eth0"},
		{"-n", h.ns, "link", "set", "eth0", "up"},
		{"-n", h.ns, "route", "add", "default", "via", l.gateway()},
	} {
		if err := ip(args...); err != nil {
			skipNetns(l.t, "%v", err)
		}
	}
	return h
}

// command runs bin in the host's namespace.
func (h *host) command(bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.ns, bin}, args...)...)
}

// cut takes the host off the LAN, as a place losing its uplink: its end
// of the pair loses its carrier, and what it sends goes nowhere.
func (h *host) cut(t *testing.T) {
	t.Helper()
	if err := ip("link", "set", h.veth, "down"); err != nil {
		t.Fatal(err)
	}
}

// restore puts the host back on the LAN.
func (h *host) restore(t *testing.T) {
	t.Helper()
	if err := ip("link", "set", h.veth, "up"); err != nil {
		t.Fatal(err)
	}
}

// lock takes an exclusive lock on path until unlock.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the subnets: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the subnets: %w", err)
	}
	return func() { f.Close() }, nil
}

// freeSubnet is an N such that no interface holds an address in
// 10.231.N.0/24.
func freeSubnet() (int, error) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return 0, fmt.Errorf("ip addr show: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	} else if err != nil {
		return 0, fmt.Errorf("ip addr show: %w", err)
	}
	for n := 1; n < 255; n++ {
		if !strings.Contains(string(out), fmt.Sprintf(" 10.231.%d.", n)) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("every subnet of 10.231.0.0/16 is taken")
}

// stale match the names of this file's bridges and namespaces, with the
// pid of the process that made them.
var (
	staleBridge = regexp.MustCompile(`^hw(\d+)n\d+$`)
	staleNS     = regexp.MustCompile(`^hw-(\d+)n\d+-`)
)

// sweep removes the bridges and namespaces left by test processes killed
// before their cleanup ran.
func sweep() {
	dead := func(m []string) bool {
		if m == nil {
			return false
		}
		pid, _ := strconv.Atoi(m[1])
		_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
		return os.IsNotExist(err)
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(line, " ")
			if dead(staleNS.FindStringSubmatch(name)) {
				ip("netns", "del", name)
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show", "type", "bridge").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name := strings.TrimSuffix(f[1], ":")
			if dead(staleBridge.FindStringSubmatch(name)) {
				ip("link", "del", name)
			}
		}
	}
}
