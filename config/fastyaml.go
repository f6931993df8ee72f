package config

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Reading 100,000 merchants, yaml.v3 spends most of the load in its
// scanner and parser, ported from libyaml token by token and event by
// event; no other Go YAML library is faster (bench/README.md). Yet
// merchant files keep to a plain shape: block mappings and lists, keys
// of letters, one-line scalars, one-line flow collections, comments.
// fastParse reads that shape alone, in one pass over the lines, into the
// very node tree yaml.v3 makes of it (FuzzFastParse holds it to that),
// and says false at the first thing outside it: an anchor, a tag, a
// block or multi-line scalar, an escape, a tab, a flow collection over
// lines... yaml.v3 then reads the text, and tells its errors.

// parseYAML reads data into a node tree, the fast way when it can.
func parseYAML(data []byte) (*yaml.Node, error) {
	if root, ok := fastParse(data); ok {
		return root, nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	return &root, nil
}

// fastLine is a line that holds more than a comment.
type fastLine struct {
	text   []byte
	no     int // from 1
	indent int
	ascii  bool
}

type fastParser struct {
	lines []fastLine
	i     int // the line read next
	// tags are the tags of plain scalars that yaml.v3 may read as
	// other than text, by value, as yaml.v3 resolved them.
	tags map[string]string
	// nodes are handed out from slabs: a few allocations instead of one
	// per node.
	nodes []yaml.Node
	// keys are the keys read, each made a string once: a file says
	// "name" and "checks" once per merchant.
	keys  map[string]string
	depth int
}

// fastMaxDepth bounds the nesting fastParse follows; deeper text is left
// to yaml.v3, which bounds it too.
const fastMaxDepth = 32

// fastParse returns the document node yaml.v3 would make of data, and
// true, when data keeps to the plain shape; false otherwise.
func fastParse(data []byte) (*yaml.Node, bool) {
	f := &fastParser{}
	if !f.split(data) || len(f.lines) == 0 {
		return nil, false
	}
	first := f.lines[0]
	content, ok := f.block()
	if !ok || f.i != len(f.lines) {
		return nil, false
	}
	doc := f.node(yaml.DocumentNode, "", "", first, first.indent)
	doc.Content = []*yaml.Node{content}
	return doc, true
}

// split keeps the lines that hold more than a comment, and refuses
// what the reader does not follow: tabs, carriage returns, control
// characters, text that is not UTF-8, the breaks libyaml knows besides
// '\n', document markers and directives.
func (f *fastParser) split(data []byte) bool {
	no := 0
	for len(data) > 0 {
		no++
		line := data
		if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
			line, data = data[:nl], data[nl+1:]
		} else {
			data = nil
		}
		ascii := true
		for _, c := range line {
			if c < 0x20 || c == 0x7f {
				return false
			}
			if c >= 0x80 {
				ascii = false
			}
		}
		if !ascii && !printable(line) {
			return false
		}
		indent := skipBlanks(line, 0)
		if indent == len(line) || line[indent] == '#' {
			continue
		}
		if indent == 0 && (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) || line[0] == '%') {
			return false
		}
		f.lines = append(f.lines, fastLine{text: line, no: no, indent: indent, ascii: ascii})
	}
	return true
}

// printable says line is UTF-8 of characters YAML allows in text, none
// of them a break other than '\n' or a byte order mark.
func printable(line []byte) bool {
	for len(line) > 0 {
		r, n := utf8.DecodeRune(line)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		ok := r < 0x80 || (r >= 0xa0 && r <= 0xd7ff && r != 0x2028 && r != 0x2029) ||
			(r >= 0xe000 && r <= 0xfffd && r != 0xfeff) || r >= 0x10000
		if !ok {
			return false
		}
		line = line[n:]
	}
	return true
}

// node hands out a node at byte off of line l.
func (f *fastParser) node(kind yaml.Kind, tag, value string, l fastLine, off int) *yaml.Node {
	if len(f.nodes) == 0 {
		f.nodes = make([]yaml.Node, 256)
	}
	n := &f.nodes[0]
	f.nodes = f.nodes[1:]
	col := off
	if !l.ascii {
		col = utf8.RuneCount(l.text[:off])
	}
	*n = yaml.Node{Kind: kind, Tag: tag, Value: value, Line: l.no, Column: col + 1}
	return n
}

// block reads the mapping or list that starts at the next line, at its
// indent.
func (f *fastParser) block() (*yaml.Node, bool) {
	if f.depth++; f.depth > fastMaxDepth {
		return nil, false
	}
	defer func() { f.depth-- }()
	l := f.lines[f.i]
	if isItem(l.text[l.indent:]) {
		return f.list(l.indent)
	}
	return f.mapping(l.indent)
}

// more says the next line is indented deeper than col: text that
// belongs to what was just read (a scalar over lines) or a mistake.
func (f *fastParser) more(col int) bool {
	return f.i < len(f.lines) && f.lines[f.i].indent > col
}

// list reads the items of a block list whose dashes are at col.
func (f *fastParser) list(col int) (*yaml.Node, bool) {
	first := f.lines[f.i]
	n := f.node(yaml.SequenceNode, "!!seq", "", first, col)
	for f.i < len(f.lines) {
		l := f.lines[f.i]
		if l.indent != col || !isItem(l.text[col:]) {
			break
		}
		at := skipBlanks(l.text, col+1)
		if at == len(l.text) || l.text[at] == '#' || isItem(l.text[at:]) {
			return nil, false // its item on the lines below, or a list in a list
		}
		var item *yaml.Node
		var ok bool
		if keyEnd(l.text[at:]) > 0 {
			if f.depth++; f.depth > fastMaxDepth {
				return nil, false
			}
			item, ok = f.mapping(at)
			f.depth--
		} else {
			item, ok = f.inline(l, at)
			f.i++
			ok = ok && !f.more(col)
		}
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, item)
	}
	return n, !f.more(col)
}

// mapping reads a block mapping whose keys are at col, the first of them
// on the next line, where it may follow a list's dash.
func (f *fastParser) mapping(col int) (*yaml.Node, bool) {
	first := f.lines[f.i]
	n := f.node(yaml.MappingNode, "!!map", "", first, col)
	off := col // where the next key starts in its line
	for {
		l := f.lines[f.i]
		end := keyEnd(l.text[off:])
		if end <= 0 {
			return nil, false
		}
		key := f.node(yaml.ScalarNode, "", f.key(l.text[off:off+end]), l, off)
		if key.Tag, _ = f.tag(key.Value); key.Tag == "" {
			return nil, false
		}
		at := skipBlanks(l.text, off+end+1) // past the colon
		f.i++
		var value *yaml.Node
		var ok bool
		switch {
		case at < len(l.text) && l.text[at] != '#':
			value, ok = f.inline(l, at)
			ok = ok && !f.more(col)
		case f.more(col):
			value, ok = f.block()
		case f.i < len(f.lines) && f.lines[f.i].indent == col && isItem(f.lines[f.i].text[col:]):
			value, ok = f.list(col)
		default:
			return nil, false // an empty value
		}
		if !ok {
			return nil, false
		}
		n.Content = append(n.Content, key, value)
		if f.i == len(f.lines) || f.lines[f.i].indent < col {
			return n, true
		}
		if next := f.lines[f.i]; next.indent > col || isItem(next.text[col:]) {
			return nil, false
		}
		off = col
	}
}

// key is text as a string, one string per distinct key.
func (f *fastParser) key(text []byte) string {
	if k, ok := f.keys[string(text)]; ok {
		return k
	}
	if f.keys == nil {
		f.keys = map[string]string{}
	}
	k := string(text)
	f.keys[k] = k
	return k
}

// keyEnd is the length of the plain key text starts with, if a colon
// and a space or the end of the line follow it; 0 if none. A key is
// short: libyaml looks no further than 1,024 characters for its colon.
func keyEnd(text []byte) int {
	i := 0
	for i < len(text) && keyByte(text[i], i == 0) {
		i++
	}
	if i == 0 || i > maxKey || i == len(text) || text[i] != ':' || (i+1 < len(text) && text[i+1] != ' ') {
		return 0
	}
	return i
}

const maxKey = 1000

func keyByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

// inline reads the value that starts at byte at of line l and runs to
// its end, or to a comment.
func (f *fastParser) inline(l fastLine, at int) (*yaml.Node, bool) {
	n, end, ok := f.value(l, at, false)
	return n, ok && lineEnds(l.text, end)
}

// lineEnds says nothing but blanks, or a comment after a blank, follows
// byte at of text.
func lineEnds(text []byte, at int) bool {
	i := skipBlanks(text, at)
	return i == len(text) || (text[i] == '#' && i > at)
}

// value reads a scalar or a flow collection at byte at of line l, in a
// flow collection when flow is set, and returns where it ends.
func (f *fastParser) value(l fastLine, at int, flow bool) (*yaml.Node, int, bool) {
	text := l.text
	switch text[at] {
	case '"':
		end := at + 1
		for end < len(text) && text[end] != '"' {
			if text[end] == '\\' {
				return nil, 0, false
			}
			end++
		}
		if end == len(text) {
			return nil, 0, false
		}
		n := f.node(yaml.ScalarNode, "!!str", string(text[at+1:end]), l, at)
		n.Style = yaml.DoubleQuotedStyle
		return n, end + 1, true
	case '\'':
		var s []byte
		end := at + 1
		for {
			if end == len(text) {
				return nil, 0, false
			}
			if text[end] == '\'' {
				if end+1 < len(text) && text[end+1] == '\'' {
					s = append(s, '\'')
					end += 2
					continue
				}
				break
			}
			s = append(s, text[end])
			end++
		}
		n := f.node(yaml.ScalarNode, "!!str", string(s), l, at)
		n.Style = yaml.SingleQuotedStyle
		return n, end + 1, true
	case '{', '[':
		return f.flow(l, at)
	}
	end, ok := plainEnd(text, at, flow)
	if !ok {
		return nil, 0, false
	}
	v := string(text[at:end])
	tag, ok := f.tag(v)
	if !ok || tag == "!!merge" {
		return nil, 0, false
	}
	return f.node(yaml.ScalarNode, tag, v, l, at), end, true
}

// plainEnd is where the one-line plain scalar at byte at of text ends,
// its trailing blanks left out; false for a start or an end that is
// not plain.
func plainEnd(text []byte, at int, flow bool) (int, bool) {
	switch c := text[at]; c {
	case '?', ':':
		if flow { // libyaml starts no plain scalar with them there
			return 0, false
		}
		fallthrough
	case '-':
		if at+1 == len(text) || text[at+1] == ' ' || (flow && bytes.IndexByte([]byte(",[]{}"), text[at+1]) >= 0) {
			return 0, false
		}
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return 0, false
	}
	end, i := at, at
	for i < len(text) {
		c := text[i]
		switch {
		case c == ' ':
			if i+1 < len(text) && text[i+1] == '#' {
				return end, true
			}
		case c == ':' && (i+1 == len(text) || text[i+1] == ' '):
			return 0, false // a key where a value was wanted
		case flow && (c == ',' || c == '}' || c == ']'):
			return end, true
		case flow && (c == '?' || c == '[' || c == '{'):
			return 0, false
		case flow && c == ':' && bytes.IndexByte([]byte(",]}"), text[i+1]) >= 0:
			return 0, false
		default:
			end = i + 1
		}
		i++
	}
	return end, true
}

// flow reads a flow mapping or list on one line, at byte at of line l.
func (f *fastParser) flow(l fastLine, at int) (*yaml.Node, int, bool) {
	if f.depth++; f.depth > fastMaxDepth {
		return nil, 0, false
	}
	defer func() { f.depth-- }()
	text := l.text
	mapping := text[at] == '{'
	n := f.node(yaml.SequenceNode, "!!seq", "", l, at)
	closing := byte(']')
	if mapping {
		n.Kind, n.Tag, closing = yaml.MappingNode, "!!map", '}'
	}
	n.Style = yaml.FlowStyle
	i := skipBlanks(text, at+1)
	if i < len(text) && text[i] == closing {
		return n, i + 1, true
	}
	for {
		if i == len(text) {
			return nil, 0, false
		}
		if mapping {
			end := keyEnd(text[i:])
			if end <= 0 || i+end+1 == len(text) {
				return nil, 0, false
			}
			key := f.node(yaml.ScalarNode, "", f.key(text[i:i+end]), l, i)
			var ok bool
			if key.Tag, ok = f.tag(key.Value); !ok {
				return nil, 0, false
			}
			n.Content = append(n.Content, key)
			if i = skipBlanks(text, i+end+1); i == len(text) {
				return nil, 0, false
			}
		}
		v, end, ok := f.value(l, i, true)
		if !ok {
			return nil, 0, false
		}
		n.Content = append(n.Content, v)
		if i = skipBlanks(text, end); i == len(text) {
			return nil, 0, false
		}
		switch text[i] {
		case closing:
			return n, i + 1, true
		case ',':
			if i = skipBlanks(text, i+1); i < len(text) && (text[i] == '}' || text[i] == ']') {
				return nil, 0, false // a trailing comma
			}
		default:
			return nil, 0, false
		}
	}
}

func skipBlanks(text []byte, i int) int {
	for i < len(text) && text[i] == ' ' {
		i++
	}
	return i
}

// tag is the tag yaml.v3 gives the plain scalar v: text, unless it
// starts as a number, a null, a boolean or a time may, in which case
// yaml.v3 itself resolves it, once per value.
func (f *fastParser) tag(v string) (string, bool) {
	switch c := v[0]; {
	case c == '+', c == '-', c == '.', c == '~', c == '<', c >= '0' && c <= '9':
	case c == 'y', c == 'Y', c == 'n', c == 'N', c == 't', c == 'T', c == 'f', c == 'F', c == 'o', c == 'O':
	default:
		return "!!str", true
	}
	if t, ok := f.tags[v]; ok {
		return t, t != ""
	}
	var doc yaml.Node
	t := ""
	if err := yaml.Unmarshal([]byte(v), &doc); err == nil && len(doc.Content) == 1 {
		if s := doc.Content[0]; s.Kind == yaml.ScalarNode && s.Style == 0 && s.Value == v {
			t = s.Tag
		}
	}
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	f.tags[v] = t
	return t, t != ""
}
