package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads, expands, defaults and validates the configuration file at path.
// ${NAME} references are taken from the process environment. The error, if
// any, is an Errors listing every problem found.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// yamlLine finds the line in a yaml.v3 error message ("yaml: line 7: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse is Load on bytes already read; lookup resolves ${NAME} references.
// file names the source in error messages.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		e := &Error{File: file, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return nil, Errors{e}
	}
	d := &decoder{file: file, lookup: lookup, lines: map[string]int{}, unset: map[string][]string{}, bad: map[string]bool{},
		raw: map[string][2]string{}, secret: map[string]bool{}}
	var cfg Config
	if len(root.Content) == 0 {
		d.errorf(1, "", "the file is empty")
		return nil, d.errs
	}
	d.decode(root.Content[0], reflect.ValueOf(&cfg).Elem(), "")
	applyDefaults(&cfg, d.has)
	v := validator{decoder: d, cfg: &cfg}
	v.validate()
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
