package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Large installations keep their merchants in files of their own
// (include: ["merchants/*.yaml"]), or 100,000 checks in one file. Either
// way the merchants are read in parts, in parallel on every core: each
// part is parsed, decoded, and its node tree dropped before the next, so
// that the file is never held whole as nodes, and the lines of every key
// are kept by item (origin.go) for the errors the validator finds later.

// runSize is how many merchants one part holds, when a long list is cut
// into parts: small enough that the parts in flight on every core hold
// little, large enough that each is worth a goroutine's hand-off. A
// variable for the tests, which cut short lists.
var runSize = 1000

// part is a piece of the configuration read by itself: a run of a file's
// merchants, or an included file's keys other than a long merchants list.
type part struct {
	file string
	data []byte
	// line is the line data starts on in its file, from 1; base is the
	// index of a run's first merchant in its file's list.
	line, base int
	// included marks an included file's own keys, as opposed to a run.
	included bool
}

// read is what one part gave.
type read struct {
	merchants []Merchant
	contacts  []Contact
	d         *decoder
	solo      []solo
	// syntax is set when YAML could not read the part: its file is then
	// read again whole, for the error to be told as for any file.
	syntax error
}

// included is what an included file may hold.
type included struct {
	Merchants []Merchant `yaml:"merchants"`
	Contacts  []Contact  `yaml:"contacts"`
}

// splitList finds the block list under the top-level key of a file and,
// when it is long, returns the file without it (its lines left blank, so
// that every other line keeps its number) and the list in runs of
// runSize items. A list the scan cannot be sure of (in flow style, or
// indented with tabs) is left in place; so is an anchor or alias across
// runs, which YAML refuses when the runs are read, and the file is then
// read whole.
func splitList(file string, data []byte, key string) ([]byte, []part) {
	var (
		found   bool
		indent  = -1
		starts  []int // byte offsets of the items' first lines
		lines   []int // and their line numbers
		end     = len(data)
		lineNo  int
		prefix  = []byte(key + ":")
		scanned = false
	)
	for off := 0; off < len(data) && !scanned; {
		next := len(data)
		if nl := bytes.IndexByte(data[off:], '\n'); nl >= 0 {
			next = off + nl + 1
		}
		text := bytes.TrimRight(data[off:next], "\r\n")
		lineNo++
		trimmed := bytes.TrimLeft(text, " ")
		col := len(text) - len(trimmed)
		blank := len(bytes.TrimSpace(trimmed)) == 0 || trimmed[0] == '#'
		if bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")) {
			// More than one document, of which YAML reads the first:
			// the file is read whole, as it is.
			return data, nil
		}
		switch {
		case !found:
			if after, ok := bytes.CutPrefix(text, prefix); ok {
				if after = bytes.TrimSpace(after); len(after) > 0 && after[0] != '#' {
					return data, nil // "merchants: [...]"
				}
				found = true
			}
		case blank:
		case trimmed[0] == '\t':
			return data, nil
		case indent < 0:
			if !isItem(trimmed) {
				return data, nil
			}
			indent = col
			starts, lines = append(starts, off), append(lines, lineNo)
		case col == indent && isItem(trimmed):
			starts, lines = append(starts, off), append(lines, lineNo)
		case col > indent:
		default:
			end, scanned = off, true
		}
		off = next
	}
	if len(starts) < 2*runSize {
		return data, nil
	}
	var runs []part
	for k := 0; k < len(starts); k += runSize {
		to := end
		if k+runSize < len(starts) {
			to = starts[k+runSize]
		}
		runs = append(runs, part{file: file, data: data[starts[k]:to], line: lines[k], base: k})
	}
	rest := make([]byte, 0, len(data)-(end-starts[0]))
	rest = append(rest, data[:starts[0]]...)
	rest = append(rest, bytes.Repeat([]byte{'\n'}, bytes.Count(data[starts[0]:end], []byte{'\n'}))...)
	rest = append(rest, data[end:]...)
	return rest, runs
}

func isItem(trimmed []byte) bool {
	return bytes.Equal(trimmed, []byte("-")) || bytes.HasPrefix(trimmed, []byte("- "))
}

// shiftLines numbers a run's nodes by its file's lines.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// readPart parses and decodes one part, and checks its merchants alone.
func readPart(p part, lookup func(string) (string, bool), a *ahead) read {
	r := decodePart(p, lookup)
	if r.d != nil {
		r.d.compactKeys()
		r.checkAlone(a)
	}
	return r
}

func decodePart(p part, lookup func(string) (string, bool)) read {
	root, err := parseYAML(p.data)
	if err != nil {
		return read{syntax: err}
	}
	d := newDecoder(p.file, lookup)
	r := read{d: d}
	if len(root.Content) == 0 {
		if p.included {
			d.errorf(1, "", "the file is empty")
		}
		return r
	}
	if p.included {
		var inc included
		d.included = true
		d.decode(root.Content[0], reflect.ValueOf(&inc).Elem(), "")
		r.merchants, r.contacts = inc.Merchants, inc.Contacts
		return r
	}
	shiftLines(root, p.line-1)
	d.base["merchants"] = p.base
	d.decode(root.Content[0], reflect.ValueOf(&r.merchants).Elem(), "merchants")
	return r
}

// readParts reads the parts feed sends on every core, as it sends them,
// and returns what each gave in the order they were sent.
func readParts(feed func(send func(part)), lookup func(string) (string, bool), a *ahead) []read {
	type sent struct {
		i int
		p part
	}
	type got struct {
		i int
		r read
	}
	next, results := make(chan sent), make(chan got)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for s := range next {
				results <- got{s.i, readPart(s.p, lookup, a)}
			}
		})
	}
	go func() {
		n := 0
		feed(func(p part) {
			next <- sent{n, p}
			n++
		})
		close(next)
		wg.Wait()
		close(results)
	}()
	var out []read
	for g := range results {
		if g.i >= len(out) {
			out = append(out, make([]read, g.i+1-len(out))...)
		}
		out[g.i] = g.r
	}
	return out
}

// includes lists the files the include globs of the main file name, in
// order, each once; a glob that matches nothing is an error.
func (d *decoder) includes(globs []string, dir string) []string {
	var files []string
	var seen []os.FileInfo
	self, _ := os.Stat(d.file)
	for i, g := range globs {
		path := index("include", i)
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(dir, pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			d.errorf(d.line(path), path, "is not a valid pattern: %v", err)
			continue
		}
		if len(matches) == 0 {
			d.errorf(d.line(path), path, "%q matches no file", g)
			continue
		}
		for _, m := range matches {
			info, err := os.Stat(m)
			switch {
			case err != nil:
				d.errorf(d.line(path), path, "cannot read %s: %v", m, unwrapPath(err))
			case self != nil && os.SameFile(info, self):
				d.errorf(d.line(path), path, "%q matches the configuration file itself", g)
			case !slices.ContainsFunc(seen, func(s os.FileInfo) bool { return os.SameFile(s, info) }):
				// A file named twice, by two globs, a link or another
				// path, is read once.
				files, seen = append(files, m), append(seen, info)
			}
		}
	}
	return files
}

// readIncluded reads the merchants of the main file's long list and of
// every included file into cfg and d, in order: the main file's first,
// then each included file's contacts and merchants. It returns false,
// having added nothing, if YAML could not read the main file's runs: the
// main file is then to be read whole.
func (d *decoder) readIncluded(cfg *Config, runs []part, files []string, a *ahead) bool {
	// The files are read one by one as the parts read so far are
	// decoded, rather than all before the first.
	var parts []part
	var owner []int // which file each part is of: 0 the main one
	reads := readParts(func(send func(part)) {
		add := func(p part, file int) {
			parts, owner = append(parts, p), append(owner, file)
			send(p)
		}
		for _, r := range runs {
			add(r, 0)
		}
		for i, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				d.errorf(d.line("include"), "include", "cannot read %s: %v", f, unwrapPath(err))
				continue
			}
			d.files = append(d.files, f)
			rest, fileRuns := splitList(f, data, "merchants")
			add(part{file: f, data: rest, line: 1, included: true}, i+1)
			for _, r := range fileRuns {
				add(r, i+1)
			}
		}
	}, d.lookup, a)
	if slices.ContainsFunc(reads[:len(runs)], func(r read) bool { return r.syntax != nil }) {
		return false
	}
	// The lists are made once at their size, rather than grown part by
	// part, leaving a copy behind at each doubling.
	merchants := 0
	for _, r := range reads {
		merchants += len(r.merchants)
	}
	cfg.Merchants = slices.Grow(cfg.Merchants, merchants)
	d.items["merchants"] = slices.Grow(d.items["merchants"], merchants)
	d.solo = slices.Grow(d.solo, len(cfg.Merchants)+merchants)
	for i := 0; i < len(parts); {
		j := i
		for j < len(parts) && owner[j] == owner[i] {
			j++
		}
		fileReads := reads[i:j]
		if slices.ContainsFunc(fileReads, func(r read) bool { return r.syntax != nil }) {
			// Read the file whole: its error is then told by line.
			f := parts[i].file
			data, _ := os.ReadFile(f)
			r := readPart(part{file: f, data: data, line: 1, included: true}, d.lookup, a)
			if r.syntax != nil {
				d.errs = append(d.errs, includedSyntax(f, data, r.syntax)...)
				i = j
				continue
			}
			fileReads = []read{r}
		}
		for _, r := range fileReads {
			d.merge(cfg, r)
		}
		i = j
	}
	return true
}

// merge adds a part's merchants and contacts, and what its decoder found,
// to the whole: paths under an item are numbered in the whole's lists.
func (d *decoder) merge(cfg *Config, r read) {
	offset := map[string]int{"merchants": len(cfg.Merchants), "contacts": len(cfg.Contacts)}
	if !r.d.included {
		offset["merchants"] -= r.d.base["merchants"]
	}
	rekey := func(path string) string {
		list, i, rest, ok := splitItem(path)
		if !ok {
			return path
		}
		return index(list, offset[list]+i) + rest
	}
	// The main file's own merchants, read with it, have no part.
	d.solo = append(d.solo, make([]solo, len(cfg.Merchants)-len(d.solo))...)
	d.solo = append(d.solo, r.solo...)
	d.solo = append(d.solo, make([]solo, len(r.merchants)-len(r.solo))...)
	cfg.Merchants = append(cfg.Merchants, r.merchants...)
	cfg.Contacts = append(cfg.Contacts, r.contacts...)
	for _, l := range itemLists {
		d.items[l] = append(d.items[l], r.d.items[l]...)
	}
	for p := range r.d.bad {
		d.bad[rekey(p)] = true
	}
	for p, v := range r.d.unset {
		d.unset[rekey(p)] = v
	}
	for p, v := range r.d.raw {
		d.raw[rekey(p)] = v
	}
	for p := range r.d.secret {
		d.secret[rekey(p)] = true
	}
	for p, v := range r.d.refs {
		d.refs[rekey(p)] = v
	}
	d.errs = append(d.errs, r.d.errs...)
	d.warnings = append(d.warnings, r.d.warnings...)
}

// includedSyntax explains an included file YAML cannot read: the usual
// slips by line, or YAML's own error.
func includedSyntax(file string, data []byte, err error) Errors {
	if slips, _ := findSlips(file, data); len(slips) > 0 {
		return slips
	}
	return Errors{yamlError(file, err)}
}

// unwrapPath leaves out the file name a *PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%w", pe.Err)
	}
	return err
}
