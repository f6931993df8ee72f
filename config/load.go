package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, expands, defaults and validates the configuration file at path,
// for the daemon: every secret it names must be set. ${NAME} references are
// taken from the process environment. The error, if any, is an Errors
// listing every problem found.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// Options say what a command needs of the file.
type Options struct {
	// Lookup resolves ${NAME}; the process environment when nil.
	Lookup func(string) (string, bool)
	// Offline is for a command that talks to no chat app (check, report,
	// validate): a secret that an unset ${NAME} left empty is then no
	// error, unless Uses names its key ("storage.dsn"). Config.Env lists
	// what the daemon will need.
	Offline bool
	Uses    []string
}

// LoadWith is Load for a command that needs less than the daemon.
func LoadWith(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if o.Lookup == nil {
		o.Lookup = os.LookupEnv
	}
	return parse(path, data, o)
}

// yamlLine finds the line in a yaml.v3 error message ("yaml: line 7: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse is Load on bytes already read; lookup resolves ${NAME} references.
// file names the source in error messages.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	return parse(file, data, Options{Lookup: lookup})
}

func parse(file string, data []byte, o Options) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		e := &Error{File: file, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return nil, Errors{e}
	}
	d := &decoder{file: file, lookup: o.Lookup, lines: map[string]int{}, unset: map[string][]string{}, bad: map[string]bool{},
		raw: map[string][2]string{}, secret: map[string]bool{}, refs: map[string][]string{}}
	var cfg Config
	if len(root.Content) == 0 {
		d.errorf(1, "", "the file is empty")
		return nil, d.errs
	}
	d.decode(root.Content[0], reflect.ValueOf(&cfg).Elem(), "")
	applyDefaults(&cfg, d.has)
	resolvePaths(&cfg, filepath.Dir(file))
	v := validator{decoder: d, cfg: &cfg, offline: o.Offline, uses: o.Uses}
	v.validate()
	cfg.Env = d.env()
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	return &cfg, nil
}

// AsErrors returns the configuration problems held in err, if it holds any.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	return nil, false
}

// resolvePaths makes the file names of the configuration relative to its
// own directory, so that every command run on one file, from any working
// directory, finds the same record and templates.
func resolvePaths(cfg *Config, dir string) {
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if dsn := cfg.Storage.DSN.Value(); cfg.Storage.Driver == "sqlite" && dsn != ":memory:" && !strings.HasPrefix(dsn, "file:") {
		cfg.Storage.DSN = Secret(rel(dsn))
	}
	cfg.Templates = rel(cfg.Templates)
}
