package config

import (
	"strconv"
	"strings"
)

// An item is one merchant or contact and where it was written: the file,
// its place in that file's list, and the line of each key under it, by
// path relative to the item (".checks[0].http.url"). The relative paths
// repeat from item to item and are interned, so that a file of 100,000
// checks keeps its lines in a few bytes per key rather than in a map entry
// keyed by a whole path apiece.
type item struct {
	file  string
	index int // in its file's list
	keys  []keyLine
	// byKey indexes keys when they are many (a merchant of 20,000
	// checks), where a look along them for each would be quadratic.
	byKey map[string]int32
}

// manyKeys is how many keys an item has before they are indexed.
const manyKeys = 64

// keyBlock is how many keys' lines a block holds at most; a decoder's
// first block holds firstKeyBlock, and each next one twice the one
// before, so that a small part (an included file of 100 merchants) does
// not make a block of 8192 for its thousand keys.
const (
	keyBlock      = 8192
	firstKeyBlock = 256
)

type keyLine struct {
	key  string
	line int32
}

// itemLists are the lists whose items an included file may hold, and
// whose items are therefore kept with their origin.
var itemLists = [...]string{"merchants", "contacts"}

// splitItem cuts "merchants[12].checks[0]" into "merchants", 12 and
// ".checks[0]".
func splitItem(path string) (list string, i int, rest string, ok bool) {
	for _, l := range itemLists {
		after, found := strings.CutPrefix(path, l+"[")
		if !found {
			continue
		}
		end := strings.IndexByte(after, ']')
		if end < 0 {
			return "", 0, "", false
		}
		n, err := strconv.Atoi(after[:end])
		if err != nil {
			return "", 0, "", false
		}
		return l, n, after[end+1:], true
	}
	return "", 0, "", false
}

// item finds the item a path is under, and the path within it.
func (d *decoder) item(path string) (*item, string) {
	list, i, rest, ok := splitItem(path)
	if !ok {
		return nil, ""
	}
	i -= d.base[list]
	if items := d.items[list]; i >= 0 && i < len(items) {
		return items[i], rest
	}
	return nil, ""
}

// setLine records the line path was written on.
func (d *decoder) setLine(path string, line int) {
	var it *item
	var rest string
	if after, ok := strings.CutPrefix(path, d.curPath); ok && d.cur != nil {
		it, rest = d.cur, after // not read from the path again
	} else {
		it, rest = d.item(path)
	}
	if it == nil {
		d.lines[path] = line
		return
	}
	key, ok := d.interned[rest]
	if !ok {
		key = strings.Clone(rest)
		d.interned[key] = key
	}
	// The item's run of d.keys becomes its keys once it is decoded. The
	// keys are kept in blocks rather than one slice grown by doubling,
	// which would keep every smaller copy alive behind the items made
	// from it; a run a block cannot hold is carried to the next.
	if len(d.keys) == cap(d.keys) {
		run := d.keys[d.run:]
		size := min(max(firstKeyBlock, 2*cap(d.keys)), keyBlock)
		d.keys = append(make([]keyLine, 0, max(size, 2*len(run))), run...)
		d.run = 0
	}
	d.keys = append(d.keys, keyLine{key, int32(line)})
}

// lineOf gives the line path itself was written on.
func (d *decoder) lineOf(path string) (int, bool) {
	it, rest := d.item(path)
	if it == nil {
		l, ok := d.lines[path]
		return l, ok
	}
	if it.byKey != nil {
		l, ok := it.byKey[rest]
		return int(l), ok
	}
	// A key's line is written once, its value's not at all; an item
	// of a list has its own line.
	for i := len(it.keys) - 1; i >= 0; i-- {
		if it.keys[i].key == rest {
			return int(it.keys[i].line), true
		}
	}
	return 0, false
}

// place says in which file, and under which path there, a problem at path
// is: an included file's merchants are numbered from 0 in that file.
func (d *decoder) place(path string) (file, shown string) {
	it, rest := d.item(path)
	if it == nil {
		return d.file, path
	}
	list, _, _, _ := splitItem(path)
	return it.file, index(list, it.index) + rest
}

// where names the place of path for a message about another place: "line
// 12" in the same file, "merchants/b.yaml:12" in another.
func (d *decoder) where(path, from string) string {
	file, _ := d.place(path)
	if other, _ := d.place(from); other == file {
		return "line " + strconv.Itoa(d.line(path))
	}
	return file + ":" + strconv.Itoa(d.line(path))
}

// compactKeys moves the items' keys into one slice of their size: the
// blocks they were read into are let go, most of the last one empty.
func (d *decoder) compactKeys() {
	n := 0
	for _, l := range itemLists {
		for _, it := range d.items[l] {
			n += len(it.keys)
		}
	}
	keys := make([]keyLine, 0, n)
	for _, l := range itemLists {
		for _, it := range d.items[l] {
			start := len(keys)
			keys = append(keys, it.keys...)
			it.keys = keys[start:len(keys):len(keys)]
			if len(it.keys) > manyKeys {
				it.byKey = make(map[string]int32, len(it.keys))
				for _, k := range it.keys {
					it.byKey[k.key] = k.line
				}
			}
		}
	}
	d.keys, d.run = nil, 0
}
