package config

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder is implemented by types that read themselves from a YAML node.
type nodeDecoder interface {
	decodeNode(n *yaml.Node) error
}

var (
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
	secretType      = reflect.TypeFor[Secret]()
)

// envRef matches ${NAME}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// decoder fills typed structs from a YAML node tree. Unlike yaml.Node.Decode
// it refuses unknown keys, keeps going after an error, and knows the path and
// line of every value, so each problem is reported where it is.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	lines  map[string]int
	unset  map[string][]string  // path → ${NAME}s that were not set
	bad    map[string]bool      // paths that could not be read
	raw    map[string][2]string // path → the text as written and as expanded, where ${NAME} changed it
	secret map[string]bool      // paths of Secret fields, which may be left empty
	refs   map[string][]string  // path → every ${NAME} it holds

	// items are the merchants and contacts decoded, with the lines of
	// their keys (origin.go); base numbers the first of a list when this
	// decoder reads a part of it.
	items    map[string][]*item
	base     map[string]int
	interned map[string]string
	// maps are the maps of text read so far, by their contents;
	// mapKey is where the contents of the next are written.
	maps   map[string]map[string]string
	mapKey []byte

	// files are the files read, the main one first, in the order their
	// errors are told; included says this decoder reads an included file.
	files    []string
	included bool

	// keys is the block that holds the lines of the items' keys, each
	// item's a run of it starting at run.
	keys []keyLine
	run  int
	// cur is the item being decoded, at curPath.
	cur     *item
	curPath string

	// solo is what the parts found of each merchant alone (solo.go),
	// by its index in the whole.
	solo []solo

	warnings Errors
	errs     Errors

	// keyLine is the line of the key whose value is decoded next; -1
	// when the line of the value decoded next is written already.
	keyLine int

	// aliases counts alias expansions and depth the nesting, so that a
	// file of nested aliases (a "billion laughs") or a cyclic one is
	// refused instead of expanded without end.
	aliases, depth int
}

const (
	maxAliases = 1000
	maxDepth   = 64
)

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.bad[path] = true
	msg := fmt.Sprintf(format, args...)
	// A value from the environment may be a secret in the wrong place:
	// show what the file says, never what it expanded to.
	if r, ok := d.raw[path]; ok && len(r[1]) >= 4 {
		msg = strings.ReplaceAll(msg, r[1], r[0])
	}
	file, shown := d.place(path)
	d.errs = append(d.errs, &Error{File: file, Line: line, Path: shown, Msg: msg})
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{file: file, lookup: lookup, lines: map[string]int{}, unset: map[string][]string{}, bad: map[string]bool{},
		raw: map[string][2]string{}, secret: map[string]bool{}, refs: map[string][]string{},
		items: map[string][]*item{}, base: map[string]int{}, interned: map[string]string{}, files: []string{file}}
}

// line gives the line of path, or of its nearest ancestor that has one.
func (d *decoder) line(path string) int {
	for {
		if l, ok := d.lineOf(path); ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.lines[""]
		}
		path = path[:i]
	}
}

// has reports whether path was written in the file.
func (d *decoder) has(path string) bool {
	_, ok := d.lineOf(path)
	return ok
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// expand replaces ${NAME} in a scalar with the environment's value.
func (d *decoder) expand(s, path string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		d.refs[path] = append(d.refs[path], name)
		v, ok := d.lookup(name)
		if !ok {
			d.unset[path] = append(d.unset[path], name)
		}
		return v
	})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	// The line kept for a key's value is the key's own, written once.
	keyLine := d.keyLine
	d.keyLine = 0
	if keyLine > 0 {
		d.setLine(path, keyLine)
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.errorf(n.Line, path, "is nested too deep")
		return
	}
	if n.Kind == yaml.AliasNode {
		if d.aliases++; d.aliases > maxAliases || n.Alias == nil {
			d.errorf(n.Line, path, "uses too many aliases")
			return
		}
		n = n.Alias
	}
	if keyLine == 0 {
		d.setLine(path, n.Line)
	}
	if n.Kind == yaml.ScalarNode {
		if value := d.expand(n.Value, path); value != n.Value {
			d.raw[path] = [2]string{n.Value, value}
			expanded := *n
			expanded.Value = value
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
				// Unquoted: resolve the expanded text as YAML would,
				// so that ${CHAT_ID} can fill a number.
				expanded.Tag = ""
			}
			n = &expanded
		}
	}
	if v.Type() == secretType {
		d.secret[path] = true
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		if isNull(n) {
			return
		}
		if err := v.Addr().Interface().(nodeDecoder).decodeNode(n); err != nil {
			d.errorf(n.Line, path, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.keyLine = -1 // written
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		base, kept := d.base[path], slices.Contains(itemLists[:], path)
		if kept {
			items := make([]*item, len(n.Content))
			for i := range items {
				items[i] = &item{file: d.file, index: base + i}
			}
			d.items[path] = items
		}
		for i, item := range n.Content {
			p := index(path, base+i)
			if kept {
				d.run = len(d.keys)
				d.cur, d.curPath = d.items[path][i], p
			}
			d.decode(item, s.Index(i), p)
			if kept {
				d.items[path][i].keys = d.keys[d.run:len(d.keys):len(d.keys)]
			}
		}
		d.cur = nil
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "must be a single value, not a list or a mapping")
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			d.errorf(n.Line, path, "must be a whole number, not %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil {
			d.errorf(n.Line, path, "must be a number, not %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.errorf(n.Line, path, "must be true or false, not %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		d.errorf(n.Line, path, "cannot hold a value of kind %s", v.Kind())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping of keys to values")
		return
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		p := join(path, key)
		if first, dup := seen[key]; dup {
			d.errorf(k.Line, p, "is set twice (first on line %d)", first)
			continue
		}
		seen[key] = k.Line
		f, ok := fields[key]
		switch {
		case d.included && path == "" && key != "merchants" && key != "contacts":
			d.errorf(k.Line, p, "is not for an included file, which holds merchants and contacts only")
			continue
		case !ok:
			d.errorf(k.Line, p, "unknown key%s", cmp.Or(misplaced[key], suggest(key, fields)))
			continue
		}
		d.keyLine = k.Line
		d.decode(val, v.Field(f), p)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping of keys to values")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be plain text")
			continue
		}
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errorf(k.Line, p, "is set twice")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.keyLine = k.Line
		d.decode(val, elem, p)
		m.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(d.shared(m))
}

// shared gives one map for the equal maps of text the file holds: the
// labels of thousands of checks are most often the same few, and nothing
// writes to a map read from the file.
func (d *decoder) shared(m reflect.Value) reflect.Value {
	labels, ok := m.Interface().(map[string]string)
	if !ok || len(labels) > 8 {
		return m
	}
	keys := slices.Sorted(maps.Keys(labels))
	// The contents are written to a buffer kept for the next map: only a
	// map not seen before makes a string of them.
	b := d.mapKey[:0]
	for _, k := range keys {
		b = append(append(append(append(b, k...), 0), labels[k]...), 0)
	}
	d.mapKey = b
	if same, ok := d.maps[string(b)]; ok {
		return reflect.ValueOf(same)
	}
	if d.maps == nil {
		d.maps = map[string]map[string]string{}
	}
	d.maps[string(b)] = labels
	return m
}

// fieldsOf holds yamlFields' answer by type: a file of 100,000 checks
// decodes the same few structs 100,000 times each.
var fieldsOf sync.Map // reflect.Type → map[string]int

// yamlFields maps the YAML keys of a struct type to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	if f, ok := fieldsOf.Load(t); ok {
		return f.(map[string]int)
	}
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = i
	}
	fieldsOf.Store(t, out)
	return out
}

// misplaced says where a key belongs when it is written in a block that
// does not take it, where a guess at a typo would mislead.
var misplaced = map[string]string{
	"fresh_connection": ": fresh_connection belongs in a check's http block or in defaults (tcp and tls probes open a new connection every time)",
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

// suggest names the closest known key when the unknown one looks like a typo.
func suggest(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(key, k); dist < bestDist || (dist == bestDist && best != "" && k < best) {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// env lists the ${NAME}s the secrets of the file hold, by key.
func (d *decoder) env() []EnvRef {
	var out []EnvRef
	for path, names := range d.refs {
		if !d.secret[path] {
			continue
		}
		// Where the file holding it says: an included file's own
		// numbering, after its name.
		file, key := d.place(path)
		if file != d.file {
			key = file + ": " + key
		}
		for _, n := range names {
			_, set := d.lookup(n)
			out = append(out, EnvRef{Name: n, Key: key, Set: set})
		}
	}
	slices.SortFunc(out, func(a, b EnvRef) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Name, b.Name)) })
	return out
}
