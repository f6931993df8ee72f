package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameTree says where the node trees a and b differ, in what the
// decoder reads of them; "" when they do not.
func sameTree(a, b *yaml.Node, at string) string {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column ||
		a.Anchor != b.Anchor || (a.Alias == nil) != (b.Alias == nil) || len(a.Content) != len(b.Content) {
		return fmt.Sprintf("%s: fast {kind %v style %v tag %q value %q at %d:%d, %d children}, yaml.v3 {kind %v style %v tag %q value %q at %d:%d, %d children}",
			at, a.Kind, a.Style, a.Tag, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Style, b.Tag, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if d := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", at, i)); d != "" {
			return d
		}
	}
	return ""
}

// checkFast holds fastParse to yaml.v3 on text: what it reads, it reads
// as yaml.v3 does, and it reads nothing yaml.v3 refuses.
func checkFast(t *testing.T, text string) bool {
	t.Helper()
	fast, ok := fastParse([]byte(text))
	if !ok {
		return false
	}
	var want yaml.Node
	if err := yaml.Unmarshal([]byte(text), &want); err != nil {
		t.Fatalf("the fast reader read what yaml.v3 refuses (%v):\n%s", err, text)
	}
	if d := sameTree(fast, &want, ""); d != "" {
		t.Fatalf("%s\nin:\n%s", d, text)
	}
	return true
}

// fastCases are the shapes the fast reader reads, and some it leaves to
// yaml.v3.
var fastCases = []struct {
	name string
	text string
	read bool
}{
	{"merchants", bigFile(3, -1), true},
	{"a run, indented", "  - name: shop1\n    checks:\n      - name: web\n        http: {url: \"http://127.0.0.1:9/shop/1\", contains: cart}\n        labels: {provider: examplehost}\n", true},
	{"list at the key's column", "merchants:\n- name: a\n  contacts: [ops, 'o''brien']\n- name: b\n  checks:\n  - {name: web, http: {url: https://b.example/}}\n", true},
	{"scalars of every kind", "a: 5s\nb: 0.5\nc: true\nd: null\ne: ~\nf: -100123\ng: 2026-01-02\nh: yes\ni: .inf\nj: 0x1F\nk: text with spaces   # and a comment\nl: a#b\nm: 'it''s'\nn: \"x: y\"\no: 서울 상점\np: {ko: 한글, n: 3}\n", true},
	{"comments and blank lines", "# head\n\nmerchants:   # the shops\n  # one\n  - name: a   \n\n    # between\n    display_name: A\n# foot\n", true},
	{"empty flow collections", "a: {}\nb: []\nc: [1, two, \"3\"]\nd: {x: [a, {y: z}]}\n", true},
	{"a colon inside a plain scalar", "url: http://a.example:8080/x?y=1&z=2\nflow: {u: http://a.example/}\n", true},
	{"an anchor", "a: &x 1\nb: *x\n", false},
	{"a tag", "a: !!str 1\n", false},
	{"a block scalar", "a: |\n  text\n", false},
	{"a scalar over lines", "a: one\n  two\n", false},
	{"an escape", "a: \"x\\ty\"\n", false},
	{"a tab", "a:\tb\n", false},
	{"a flow mapping over lines", "a: {b: c,\n  d: e}\n", false},
	{"an empty value", "a:\nb: c\n", false},
	{"a document marker", "---\na: b\n", false},
	{"a merge key", "<<: {a: b}\n", false},
	{"a quoted key", "\"a\": b\n", false},
	{"carriage returns", "a: b\r\nc: d\r\n", false},
	{"a list in a list", "- - a\n", false},
	{"only comments", "# nothing\n", false},
	{"a line separator", "a: b\u2028c\n", false},
	{"a mapping where a value is", "a: b: c\n", false},
	{"a trailing comma", "a: {b: c, }\n", false},
	{"a key too long for libyaml", strings.Repeat("k", 1100) + ": v\n", false},
	{"a long key", strings.Repeat("k", 900) + ": v\n", true},
	{"items deeper than their list", "a:\n  - b\n   - c\n", false},
	{"a key deeper than the mapping", "a: 1\n  b: 2\n", false},
}

// TestFastParse: the fast reader reads the plain shape as yaml.v3 does,
// and leaves the rest to it.
func TestFastParse(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFast(t, tc.text); got != tc.read {
				t.Errorf("read: %v, want %v", got, tc.read)
			}
		})
	}
}

// TestFastParseTheShippedFiles: the example configuration and the test
// files are read as yaml.v3 reads them, where the fast reader reads them.
func TestFastParseTheShippedFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("../examples/*.yaml")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkFast(t, string(data))
	}
}

func FuzzFastParse(f *testing.F) {
	for _, tc := range fastCases {
		f.Add(tc.text)
	}
	f.Add(strings.Repeat("- {a: b}\n", 3))
	f.Fuzz(func(t *testing.T, text string) {
		checkFast(t, text)
	})
}

// BenchmarkParseMerchants reads a file of 100 merchants as the
// configuration does (parseYAML), and as yaml.v3 alone does.
func BenchmarkParseMerchants(b *testing.B) {
	_, list, _ := strings.Cut(bigFile(100, -1), "merchants:\n")
	data := []byte("merchants:\n" + list)
	if _, ok := fastParse(data); !ok {
		b.Fatal("the fast reader does not read the merchants")
	}
	b.Run("parseYAML", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseYAML(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var n yaml.Node
			if err := yaml.Unmarshal(data, &n); err != nil {
				b.Fatal(err)
			}
		}
	})
}
