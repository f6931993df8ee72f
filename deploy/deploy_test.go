package deploy

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hostwatch/hostwatch/config"
)

// The files, relative to this directory.
const (
	configFile  = "hostwatch.yaml"
	unitFile    = "systemd/hostwatch.service"
	composeFile = "compose.yaml"
	envExample  = "hostwatch.env.example"
	dockerfile  = "../Dockerfile"
)

// loadConfig loads hostwatch.yaml as validate does, with none of its
// secrets set, as on the machine that checks it before a deploy.
func loadConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.LoadWith(configFile, config.Options{
		Offline: true,
		Lookup:  func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("%s does not validate:\n%v", configFile, err)
	}
	return cfg
}

// stateDir is where the configuration keeps its record.
func stateDir(t *testing.T, cfg *config.Config) string {
	t.Helper()
	dsn := cfg.Storage.DSN.Value()
	if cfg.Storage.Driver != "sqlite" || !path.IsAbs(dsn) {
		t.Fatalf("storage = %s %q, want sqlite at an absolute path (a relative one is taken from /etc/hostwatch)", cfg.Storage.Driver, dsn)
	}
	return path.Dir(dsn)
}

func TestConfig(t *testing.T) {
	cfg := loadConfig(t)
	if dir := stateDir(t, cfg); dir != "/var/lib/hostwatch" {
		t.Errorf("the record is in %s, want /var/lib/hostwatch (the unit's StateDirectory and the image's VOLUME)", dir)
	}
	example := readEnvFile(t, envExample)
	for _, e := range cfg.Env {
		if !slices.Contains(example, e.Name) {
			t.Errorf("run reads ${%s} (%s), which %s does not name", e.Name, e.Key, envExample)
		}
	}
	if len(cfg.Env) == 0 {
		t.Errorf("%s reads no secret from the environment; the example is meant to show how", configFile)
	}
}

// readEnvFile is the names an environment file sets.
func readEnvFile(t *testing.T, name string) []string {
	t.Helper()
	var names []string
	for _, line := range readLines(t, name) {
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", name, line)
		}
		names = append(names, k)
	}
	return names
}

// readUnit is a unit file's settings, "Section.Key" to each value in
// order.
func readUnit(t *testing.T, name string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	u := map[string][]string{}
	section := ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s: continued lines are not read here: %q", name, line)
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not Key=value", name, line)
			}
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

func TestUnit(t *testing.T) {
	cfg := loadConfig(t)
	u := readUnit(t, unitFile)
	img := readDockerfile(t)
	one := func(key string) string {
		t.Helper()
		if len(u[key]) != 1 {
			t.Fatalf("%s: %s = %q, want one value", unitFile, key, u[key])
		}
		return u[key][0]
	}

	// The same binary and file as the image runs.
	run := append(img.entrypoint, img.cmd...)
	if got, want := one("Service.ExecStart"), strings.Join(run, " "); got != want {
		t.Errorf("ExecStart = %q, want %q, as the image runs", got, want)
	}
	validate := strings.Join([]string{img.entrypoint[0], "validate", "-config", img.config}, " ")
	if got := one("Service.ExecStartPre"); got != validate {
		t.Errorf("ExecStartPre = %q, want %q", got, validate)
	}
	// systemctl reload: a file with errors fails the reload before the
	// daemon is told; SIGHUP never ends it.
	if got, want := u["Service.ExecReload"], []string{validate, "/bin/kill -HUP $MAINPID"}; !slices.Equal(got, want) {
		t.Errorf("ExecReload = %q, want %q", got, want)
	}
	if got := one("Service.StateDirectory"); "/var/lib/"+got != stateDir(t, cfg) {
		t.Errorf("StateDirectory = %s, but the record is in %s", got, stateDir(t, cfg))
	}
	if got := one("Service.EnvironmentFile"); got != "-/etc/hostwatch/env" {
		t.Errorf("EnvironmentFile = %q, want -/etc/hostwatch/env (optional: validate needs no secret)", got)
	}
	if got := one("Service.Restart"); got != "on-failure" {
		t.Errorf("Restart = %s, want on-failure", got)
	}
	stop, err := time.ParseDuration(one("Service.TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if drain := cfg.Delivery.DrainTimeout.Duration; stop < drain+10*time.Second {
		t.Errorf("TimeoutStopSec = %s: SIGKILL could cut short the drain of %s", stop, drain)
	}
	// The sandbox must leave what a probe and a chat app need.
	for key, want := range map[string]string{
		"Service.DynamicUser":             "yes",
		"Service.ProtectSystem":           "strict",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Service.CapabilityBoundingSet":   "",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
	} {
		if got := one(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v := u["Service.ReadWritePaths"]; len(v) > 0 {
		t.Errorf("ReadWritePaths = %q: the daemon writes only its StateDirectory", v)
	}
}

// binary is hostwatch built as the Dockerfile builds it, with VERSION and
// REVISION given, once for the tests that run it.
var binary = sync.OnceValues(func() (string, error) {
	img, err := parseDockerfile(dockerfile)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "hostwatch-deploy")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hostwatch")
	args := append([]string{"build"}, img.buildFlags("v9.9.9", "0123456789abcdef0123")...)
	cmd := exec.Command("go", append(args, "-o", bin, "./cmd/hostwatch")...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", cmd, err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := binary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestImageVersion: the image names the version and revision it was
// built from, though .git is not in its build context.
func TestImageVersion(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "hostwatch v9.9.9 (revision 0123456789ab) go"; !strings.HasPrefix(string(out), want) {
		t.Errorf("version = %q, want it to start %q", out, want)
	}
}

// TestUnitCommands runs the unit's checks of the file, as systemd would
// before a start and a reload, on the file shipped beside it.
func TestUnitCommands(t *testing.T) {
	bin := buildBinary(t)
	u := readUnit(t, unitFile)
	img := readDockerfile(t)
	conf, err := filepath.Abs(configFile)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, line := range append(u["Service.ExecStartPre"], u["Service.ExecReload"]...) {
		args := strings.Fields(strings.ReplaceAll(line, img.config, conf))
		if args[0] != img.entrypoint[0] {
			continue // kill -HUP
		}
		ran++
		cmd := exec.Command(bin, args[1:]...)
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TELEGRAM_BOT_TOKEN=") })
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
	}
	if ran == 0 {
		t.Errorf("%s runs hostwatch only to start it", unitFile)
	}
}

// TestUnitVerifies: systemd itself accepts the unit (where systemd is
// installed; CI runs on Debian). verify wants ExecStart's binary to exist,
// so it reads the unit with the path of one just built.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	bin := buildBinary(t)
	img := readDockerfile(t)
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "hostwatch.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte(img.entrypoint[0]), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// verify may warn about other units on the machine; ours must be clean.
	var ours []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "hostwatch") {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// image is what the tests read from the Dockerfile's instructions.
type image struct {
	from        []string // each stage's FROM
	build       string   // the RUN with go build
	args        []string // the ARGs
	env         map[string]string
	volume      string
	entrypoint  []string
	cmd         []string
	healthcheck []string // HEALTHCHECK's CMD, exec form
	copies      []string // each COPY's arguments
	config      string   // the file CMD runs on
}

func readDockerfile(t *testing.T) *image {
	t.Helper()
	img, err := parseDockerfile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func parseDockerfile(name string) (*image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img := &image{env: map[string]string{}}
	var lines []string
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cont == "") {
			continue
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cont += l + " "
			continue
		}
		lines = append(lines, cont+line)
		cont = ""
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	execForm := func(instr, s string) ([]string, error) {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil || len(v) == 0 {
			return nil, fmt.Errorf("%s: %s %s: want the exec form, a JSON array (the image has no shell)", name, instr, s)
		}
		return v, nil
	}
	for _, line := range lines {
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			img.from = append(img.from, rest)
		case "RUN":
			if strings.Contains(rest, "go build") {
				img.build = rest
			}
		case "ARG":
			k, _, _ := strings.Cut(rest, "=")
			img.args = append(img.args, k)
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			img.env[k] = v
		case "VOLUME":
			img.volume = rest
		case "COPY":
			img.copies = append(img.copies, rest)
		case "ENTRYPOINT":
			img.entrypoint, err = execForm(instr, rest)
		case "CMD":
			img.cmd, err = execForm(instr, rest)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, "CMD ")
			if !ok {
				return nil, fmt.Errorf("%s: HEALTHCHECK %s: no CMD", name, rest)
			}
			img.healthcheck, err = execForm(instr, strings.TrimSpace(c))
		}
		if err != nil {
			return nil, err
		}
	}
	if i := slices.Index(img.cmd, "-config"); i >= 0 && i+1 < len(img.cmd) {
		img.config = img.cmd[i+1]
	}
	if len(img.entrypoint) != 1 || img.config == "" || img.build == "" {
		return nil, fmt.Errorf("%s: want an ENTRYPOINT of the binary, a CMD with -config and a RUN of go build; have %q, %q, %q",
			name, img.entrypoint, img.cmd, img.build)
	}
	return img, nil
}

// buildFlags are the flags the Dockerfile gives go build, with its build
// arguments VERSION and REVISION set.
func (img *image) buildFlags(version, revision string) []string {
	_, s, _ := strings.Cut(img.build, "go build ")
	s, _, _ = strings.Cut(s, " -o ")
	s = strings.NewReplacer("${VERSION}", version, "${REVISION}", revision).Replace(s)
	// Words, a quoted one whole: -ldflags "-s -w ...".
	var flags []string
	for i, part := range strings.Split(s, `"`) {
		if i%2 == 1 {
			flags = append(flags, part)
		} else {
			flags = append(flags, strings.Fields(part)...)
		}
	}
	return flags
}

func TestDockerfile(t *testing.T) {
	img := readDockerfile(t)
	cfg := loadConfig(t)
	if last := img.from[len(img.from)-1]; !strings.Contains(last, "distroless/static") || !strings.HasSuffix(last, ":nonroot") {
		t.Errorf("the image runs on %s, want distroless/static, nonroot", last)
	}
	if !strings.Contains(img.build, "CGO_ENABLED=0") {
		t.Errorf("go build without CGO_ENABLED=0: the binary would not be static: %s", img.build)
	}
	if !slices.Contains(img.copies, "--from=build /out/hostwatch "+img.entrypoint[0]) {
		t.Errorf("the ENTRYPOINT %s is not the binary built: COPY %q", img.entrypoint[0], img.copies)
	}
	if want := []string{img.entrypoint[0], "healthcheck"}; !slices.Equal(img.healthcheck, want) {
		t.Errorf("HEALTHCHECK CMD %q, want %q", img.healthcheck, want)
	}
	if host, _ := listen(t, img); host != "0.0.0.0" {
		t.Errorf("HOSTWATCH_LISTEN = %q: a container must listen beyond its loopback", img.env["HOSTWATCH_LISTEN"])
	}
	if img.volume != stateDir(t, cfg) {
		t.Errorf("VOLUME %s, but %s keeps its record in %s", img.volume, configFile, stateDir(t, cfg))
	}
	for _, a := range []string{"VERSION", "REVISION"} {
		if !slices.Contains(img.args, a) || !strings.Contains(img.build, "${"+a+"}") {
			t.Errorf("the build does not take ARG %s", a)
		}
	}
	ignored := readLines(t, "../.dockerignore")
	if !slices.Contains(ignored, ".git") {
		t.Errorf(".dockerignore does not leave out .git: %q", ignored)
	}
}

// listen is HOSTWATCH_LISTEN's host and port in the image.
func listen(t *testing.T, img *image) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(img.env["HOSTWATCH_LISTEN"])
	if err != nil {
		t.Fatalf("Dockerfile: ENV HOSTWATCH_LISTEN: %v", err)
	}
	return host, port
}

// readLines is a file's lines that are neither blank nor comments.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return lines
}

// composeService is what the tests read of a compose service.
type composeService struct {
	Build struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Image           string   `yaml:"image"`
	Restart         string   `yaml:"restart"`
	EnvFile         string   `yaml:"env_file"`
	Ports           []string `yaml:"ports"`
	Volumes         []string `yaml:"volumes"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	Healthcheck     struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func TestCompose(t *testing.T) {
	data, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	s, ok := c.Services["hostwatch"]
	if !ok {
		t.Fatalf("%s: no service hostwatch", composeFile)
	}
	img := readDockerfile(t)
	cfg := loadConfig(t)

	if df := cmp.Or(s.Build.Dockerfile, "Dockerfile"); filepath.Join(s.Build.Context, df) != filepath.Clean(dockerfile) {
		t.Errorf("build: %s in %s, want the repository's Dockerfile", df, s.Build.Context)
	}
	for a := range s.Build.Args {
		if !slices.Contains(img.args, a) {
			t.Errorf("build.args.%s: the Dockerfile has no ARG %s", a, a)
		}
	}
	if s.Restart != "unless-stopped" {
		t.Errorf("restart: %q, want unless-stopped", s.Restart)
	}
	if want := []string{"CMD", img.entrypoint[0], "healthcheck"}; !slices.Equal(s.Healthcheck.Test, want) {
		t.Errorf("healthcheck.test: %q, want %q", s.Healthcheck.Test, want)
	}
	if _, port := listen(t, img); !slices.ContainsFunc(s.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		t.Errorf("ports: %q publish none to %s, where the image listens", s.Ports, port)
	}

	// The file read-only where the image reads it; the record on a named
	// volume where the file keeps it.
	conf := "./" + configFile + ":" + img.config + ":ro"
	if !slices.Contains(s.Volumes, conf) {
		t.Errorf("volumes: %q, want %s", s.Volumes, conf)
	}
	state := stateDir(t, cfg)
	if !slices.ContainsFunc(s.Volumes, func(v string) bool {
		name, target, _ := strings.Cut(v, ":")
		_, named := c.Volumes[name]
		return named && target == state
	}) {
		t.Errorf("volumes: %q, want a named volume at %s", s.Volumes, state)
	}

	// Secrets from a file that is neither committed nor sent to the build.
	if _, err := os.Stat(s.EnvFile + ".example"); err != nil {
		t.Errorf("env_file: %s, but there is no %s.example to start it from", s.EnvFile, s.EnvFile)
	}
	for _, ignore := range []string{"../.dockerignore", "../.gitignore"} {
		lines := readLines(t, ignore)
		if !slices.Contains(lines, "deploy/"+s.EnvFile) && !slices.Contains(lines, "/deploy/"+s.EnvFile) {
			t.Errorf("%s does not leave out deploy/%s, which holds secrets", ignore, s.EnvFile)
		}
	}

	stop, err := time.ParseDuration(s.StopGracePeriod)
	if err != nil {
		t.Fatalf("stop_grace_period: %v", err)
	}
	if drain := cfg.Delivery.DrainTimeout.Duration; stop < drain+10*time.Second {
		t.Errorf("stop_grace_period: %s: SIGKILL could cut short the drain of %s", stop, drain)
	}
}
