package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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

	// whole checks every merchant with the whole file, none in its
	// part (solo.go): for the tests, which compare the two.
	whole bool
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
	return parseSplit(file, data, o, true)
}

// parseSplit reads a configuration, its long merchants list in parts when
// split is set (include.go).
func parseSplit(file string, data []byte, o Options, split bool) (*Config, error) {
	rest, runs := data, []part(nil)
	if split {
		rest, runs = splitList(file, data, "merchants")
	}
	root, err := parseYAML(rest)
	if err != nil {
		if len(runs) > 0 {
			return parseSplit(file, data, o, false)
		}
		return nil, syntaxErrors(file, data, err, o)
	}
	d := newDecoder(file, o.Lookup)
	var cfg Config
	if len(root.Content) == 0 {
		d.errorf(1, "", "the file is empty")
		return nil, d.errs
	}
	d.decode(root.Content[0], reflect.ValueOf(&cfg).Elem(), "")
	root = nil
	d.compactKeys()
	// The main file's defaults are known now: the parts fill in those of
	// their merchants, and check them alone, as they are read.
	applyDefaults(&cfg, d.has)
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		loc = time.Local // validate tells
	}
	a := &ahead{defaults: &cfg.Defaults, loc: loc, offline: o.Offline, uses: o.Uses, whole: o.whole, places: cfg.placeSet()}
	files := d.includes(cfg.Include, filepath.Dir(file))
	if !d.readIncluded(&cfg, runs, files, a) {
		return parseSplit(file, data, o, false)
	}
	resolvePaths(&cfg, filepath.Dir(file))
	v := validator{decoder: d, cfg: &cfg, offline: o.Offline, uses: o.Uses}
	v.validate()
	v.mistakes()
	cfg.Env = d.env()
	cfg.Files = d.files
	cfg.Warnings = d.warnings.sortedIn(d.files)
	if len(d.errs) > 0 {
		return nil, d.errs.sortedIn(d.files)
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

// syntaxErrors explains a file YAML cannot read. The usual slips (a tab
// in the indentation, a value starting with @, * or & left unquoted) are
// found by line and told with their fix; the file with them fixed is then
// read on, so that every other mistake shows too.
func syntaxErrors(file string, data []byte, err error, o Options) error {
	slips, fixed := findSlips(file, data)
	if len(slips) > 0 {
		var root yaml.Node
		if yaml.Unmarshal(fixed, &root) == nil {
			_, rest := parse(file, fixed, o)
			files := []string{file}
			if es, ok := AsErrors(rest); ok {
				slips = append(slips, es...)
				for _, e := range es {
					if !slices.Contains(files, e.File) {
						files = append(files, e.File)
					}
				}
			}
			return slips.sortedIn(files)
		}
	}
	return append(slips, yamlError(file, err)).sorted()
}

// yamlError is YAML's own error, at the line it names.
func yamlError(file string, err error) *Error {
	e := &Error{File: file, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

// unquoted finds a value that starts with a character YAML reserves:
// "key: @every 30s", "- *foo".
var unquoted = regexp.MustCompile(`^(\s*(?:-\s+)?(?:[^\s'"#{}\[\],:][^#'"]*?:\s+|-\s+))([@*&` + "`" + `])(.*)$`)

// blockScalar ends a line that starts a literal or folded block ("key: |").
var blockScalar = regexp.MustCompile(`:\s*[|>][-+0-9]*\s*(#.*)?$`)

// secretish are keys whose values are not repeated in a message.
var secretish = regexp.MustCompile(`(?i)(token|secret|dsn|password)\s*:`)

// findSlips lists the usual slips line by line, and returns the file with
// them fixed: a line indented with tabs aligned under the line before,
// reserved starts quoted. What YAML allows is left alone: an alias of an
// anchor the file defines, an anchor, tabs inside a block scalar.
func findSlips(file string, data []byte) (Errors, []byte) {
	var slips Errors
	text := string(data)
	lines := strings.Split(text, "\n")
	column := 0 // where the keys of the last line's block start
	block := -1 // the indentation of the line that opened a block scalar, -1 outside one
	for i, line := range lines {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		content := strings.TrimSpace(line)
		if block >= 0 {
			if content == "" || len(indent) > block {
				continue // the block's own text
			}
			block = -1
		}
		if strings.Contains(indent, "\t") {
			slips = append(slips, &Error{File: file, Line: i + 1,
				Msg: "a tab in the indentation: YAML indents with spaces only"})
			line = strings.Repeat(" ", column) + line[len(indent):]
			indent = line[:column]
		}
		if content != "" && !strings.HasPrefix(content, "#") {
			column = len(indent)
			if strings.HasPrefix(content, "- ") {
				column += 2
			}
			if strings.HasSuffix(content, ":") {
				column += 2
			}
			if blockScalar.MatchString(content) {
				block = len(indent)
			}
		}
		if m := unquoted.FindStringSubmatch(line); m != nil && reserved(text, m[2], m[3]) {
			value, _, _ := strings.Cut(m[2]+m[3], " #") // a comment stays a comment
			value = strings.TrimSpace(value)
			hint := "a value starting with " + m[2] + " must be quoted"
			if m[2] == "*" {
				hint += " (an unquoted * refers to an anchor)"
			}
			key := strings.TrimLeft(m[1], " -")
			if secretish.MatchString(key) {
				hint += ": " + strings.TrimSpace(key) + " \"...\""
			} else {
				hint += fmt.Sprintf(": %s%q", key, value)
			}
			slips = append(slips, &Error{File: file, Line: i + 1, Msg: hint})
			line = m[1] + strconv.Quote(value)
		}
		lines[i] = line
	}
	return slips, []byte(strings.Join(lines, "\n"))
}

// reserved says whether a value starting with c (rest following) is a
// slip rather than YAML: @ and ` always are; * is unless it names an
// anchor the file defines; & is unless it starts an anchor's name.
func reserved(text, c, rest string) bool {
	name := rest
	if i := strings.IndexAny(rest, " \t,]}"); i >= 0 {
		name = rest[:i]
	}
	switch c {
	case "*":
		return name == "" || !strings.Contains(text, "&"+name)
	case "&":
		return name == ""
	}
	return true
}
