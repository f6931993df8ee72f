package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles writes files under dir, by path relative to it.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const includeMain = `storage: {driver: sqlite, dsn: hw.db}
contacts:
  - {name: kim, telegram: 111}
include:
  - "merchants/*.yaml"
merchants:
  - name: main-shop
    contacts: [kim]
    checks:
      - {name: web, http: {url: "https://main.example/"}}
`

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hostwatch.yaml": includeMain,
		"merchants/a.yaml": `contacts:
  - {name: lee, telegram: 222}
merchants:
  - name: a-shop
    contacts: [kim, lee]
    checks:
      - {name: web, http: {url: "https://a.example/"}}
`,
		"merchants/b.yaml": `merchants:
  - name: b-shop
    contacts: [lee]
    checks:
      - {name: web, http: {url: "https://b.example/"}, timeout: 3s}
`,
		"merchants/notes.txt": "not yaml: [",
	})
	cfg, err := LoadWith(filepath.Join(dir, "hostwatch.yaml"), Options{Lookup: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range cfg.Merchants {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "main-shop a-shop b-shop" {
		t.Errorf("merchants in order: %s", got)
	}
	if len(cfg.Contacts) != 2 || cfg.Contacts[1].Name != "lee" {
		t.Errorf("contacts: %+v", cfg.Contacts)
	}
	// Defaults reach included checks; what a file sets is kept.
	if a, b := cfg.Merchants[1].Checks[0], cfg.Merchants[2].Checks[0]; a.Timeout.Duration != DefaultTimeout || b.Timeout.String() != "3s" || a.Cron == nil {
		t.Errorf("a's timeout %v, b's %v", a.Timeout, b.Timeout)
	}
}

// TestIncludeErrors wants each problem told in the file it is in, at its
// line, with the path as numbered in that file.
func TestIncludeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		main  string // the main file, includeMain when empty
		files map[string]string
		want  []string
	}{{
		name: "an error in an included file",
		files: map[string]string{"merchants/a.yaml": `merchants:
  - name: a-shop
    checks:
      - {name: web, http: {url: "https://a.example/"}}
  - name: b-shop
    checks:
      - name: web
        http: {url: "ftp://b.example/"}
        tiemout: 3s
`},
		want: []string{
			`merchants/a.yaml:8: merchants[1].checks[0].http.url: must be an absolute http or https URL`,
			`merchants/a.yaml:9: merchants[1].checks[0].tiemout: unknown key (did you mean "timeout"?)`,
		},
	}, {
		name:  "a glob that matches nothing",
		files: map[string]string{},
		want:  []string{`hostwatch.yaml:5: include[0]: "merchants/*.yaml" matches no file`},
	}, {
		name: "a merchant defined twice across files",
		files: map[string]string{"merchants/a.yaml": `merchants:
  - name: x-shop
    checks: []
  - name: main-shop
    checks: []
`},
		want: []string{`merchants/a.yaml:4: merchants[1].name: another merchant is named "main-shop" (hostwatch.yaml:7)`},
	}, {
		name: "a contact defined twice in two included files",
		files: map[string]string{
			"merchants/a.yaml": "contacts:\n  - {name: park, telegram: 1}\n",
			"merchants/b.yaml": "contacts:\n\n  - {name: park, telegram: 2}\n",
		},
		want: []string{`merchants/b.yaml:3: contacts[0].name: another contact is named "park" (merchants/a.yaml:2)`},
	}, {
		name:  "a key an included file cannot hold",
		files: map[string]string{"merchants/a.yaml": "defaults: {timeout: 3s}\nmerchants: []\n"},
		want:  []string{`merchants/a.yaml:1: defaults: is not for an included file, which holds merchants and contacts only`},
	}, {
		name:  "YAML an included file breaks",
		files: map[string]string{"merchants/a.yaml": "merchants:\n  - name: a\n\tchecks: []\n"},
		want:  []string{`merchants/a.yaml:3: a tab in the indentation`},
	}, {
		name: "a key whose value is a block, told at the key",
		files: map[string]string{"merchants/a.yaml": `merchants:
  - name: a-shop
    checks:
      - name: web
        http:
          method: GET
`},
		want: []string{`merchants/a.yaml:5: merchants[0].checks[0].http.url: is required`},
	}, {
		name: "a slip in the main file and an error in an included one: the main file's first",
		main: strings.Replace(includeMain, "    contacts: [kim]", "\tcontacts: [kim]", 1),
		files: map[string]string{"merchants/a.yaml": `merchants:
  - name: a-shop
    checks:
      - {name: web, http: {url: "ftp://a.example/"}}
`},
		want: []string{
			`hostwatch.yaml:8: a tab in the indentation`,
			`merchants/a.yaml:4: merchants[0].checks[0].http.url: must be an absolute http or https URL`,
		},
	}, {
		name:  "an empty included file",
		files: map[string]string{"merchants/a.yaml": "# nothing yet\n"},
		want:  []string{`merchants/a.yaml:1: the file is empty`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.files["hostwatch.yaml"] = cmp.Or(tc.main, includeMain)
			writeFiles(t, dir, tc.files)
			_, err := LoadWith(filepath.Join(dir, "hostwatch.yaml"), Options{Lookup: noEnv})
			es, ok := AsErrors(err)
			if !ok {
				t.Fatalf("want config errors, got %v", err)
			}
			if len(es) != len(tc.want) {
				t.Fatalf("want %d errors, got:\n%v", len(tc.want), err)
			}
			for i, w := range tc.want {
				got := strings.ReplaceAll(es[i].Error(), dir+string(filepath.Separator), "")
				if !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got, w)
				}
			}
		})
	}
}

// TestIncludeOnce reads a file two globs name, by two paths, once; and
// names an included file's secret by that file and its own numbering.
func TestIncludeOnce(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"hostwatch.yaml": strings.Replace(includeMain, `  - "merchants/*.yaml"`, fmt.Sprintf("  - \"merchants/*.yaml\"\n  - %q", filepath.Join(dir, "merchants", "a.yaml")), 1),
		"merchants/a.yaml": `contacts:
  - {name: lee, webhook: "https://hooks.example/", webhook_secret: "${HOOK}"}
merchants:
  - name: a-shop
    contacts: [lee]
    checks: []
`,
	})
	cfg, err := LoadWith(filepath.Join(dir, "hostwatch.yaml"), Options{Lookup: env(map[string]string{"HOOK": "s3cret"})})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Merchants) != 2 || len(cfg.Files) != 2 {
		t.Errorf("%d merchants from %d files", len(cfg.Merchants), len(cfg.Files))
	}
	if want := filepath.Join(dir, "merchants", "a.yaml") + ": contacts[0].webhook_secret"; len(cfg.Env) != 1 || cfg.Env[0].Key != want {
		t.Errorf("env: %+v, want the key %s", cfg.Env, want)
	}
}

// bigFile writes a file of n merchants, one check each; merchant bad's
// URL, if any, is not one.
func bigFile(n, bad int) string {
	var b strings.Builder
	b.WriteString("storage: {driver: sqlite, dsn: hw.db}\ndefaults: {schedule: \"@every 60s\"}\n")
	b.WriteString("providers:\n  - {name: h1, match: {provider: h1}, outage_when: {min_down: 2}}\nmerchants:\n")
	for i := range n {
		url := fmt.Sprintf("https://shop%d.example/", i)
		if i == bad {
			url = "ftp://shop.example/"
		}
		fmt.Fprintf(&b, "  - name: shop%d\n    # its only check\n    checks:\n      - name: web\n        http: {url: %q}\n        labels: {provider: h%d}\n", i, url, i%7)
	}
	return b.String()
}

// TestLongListInParts reads a long merchants list in parts and wants what
// the file read whole gives, errors at the same lines.
func TestLongListInParts(t *testing.T) {
	n := 2*runSize + 345
	for _, tc := range []struct {
		name string
		text string
		err  string
	}{
		{"valid", bigFile(n, -1), ""},
		{"an error in a late run", bigFile(n, 2300), fmt.Sprintf("f.yaml:%d: merchants[2300].checks[0].http.url: must be an absolute http or https URL", 5+2300*6+5)},
		{"items at the key's own column", strings.ReplaceAll(bigFile(n, -1), "\n  ", "\n"), ""},
		{"a second document, which YAML does not read", "storage: {driver: sqlite, dsn: hw.db}\n---\n" + bigFile(n, -1)[len("storage: {driver: sqlite, dsn: hw.db}\n"):], ""},
		{"an anchor used across runs", strings.Replace(bigFile(n, -1), "labels: {provider: h0}", "labels: &l {provider: h0}", 1) + "  - {name: last, checks: [{name: web, http: {url: 'https://x.example/'}, labels: *l}]}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, runs := splitList("f.yaml", []byte(tc.text), "merchants"); len(runs) < 2 && !strings.Contains(tc.name, "column") && !strings.Contains(tc.name, "document") {
				t.Fatalf("the list is read in %d parts", len(runs))
			}
			parts, errParts := parseSplit("f.yaml", []byte(tc.text), Options{Lookup: noEnv}, true)
			whole, errWhole := parseSplit("f.yaml", []byte(tc.text), Options{Lookup: noEnv}, false)
			if fmt.Sprint(errParts) != fmt.Sprint(errWhole) {
				t.Fatalf("in parts:\n%v\nwhole:\n%v", errParts, errWhole)
			}
			if tc.err != "" {
				if errParts == nil || !strings.HasPrefix(errParts.Error(), tc.err) {
					t.Fatalf("got %v, want %s", errParts, tc.err)
				}
				return
			}
			if errParts != nil {
				t.Fatal(errParts)
			}
			if (len(parts.Merchants) < n && !strings.Contains(tc.name, "document")) || !reflect.DeepEqual(parts.Merchants, whole.Merchants) {
				t.Errorf("in parts %d merchants, whole %d; equal: %v", len(parts.Merchants), len(whole.Merchants), reflect.DeepEqual(parts.Merchants, whole.Merchants))
			}
		})
	}
}

// BenchmarkLoad100k reads 100,000 checks in one file.
func BenchmarkLoad100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "f.yaml")
	if err := os.WriteFile(path, []byte(bigFile(100_000, -1)), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadWith(path, Options{Lookup: noEnv, Offline: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad100kIncluded reads 100,000 checks in 1,000 included files
// of 100 merchants each.
func BenchmarkLoad100kIncluded(b *testing.B) {
	dir := b.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "merchants"), 0o755); err != nil {
		b.Fatal(err)
	}
	whole := bigFile(100_000, -1)
	head, list, _ := strings.Cut(whole, "merchants:\n")
	lines := strings.SplitAfter(list, "\n")
	const perFile = 100 * 6 // lines
	for f := range 1000 {
		text := "merchants:\n" + strings.Join(lines[f*perFile:(f+1)*perFile], "")
		if err := os.WriteFile(filepath.Join(dir, "merchants", fmt.Sprintf("m%04d.yaml", f)), []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "f.yaml")
	if err := os.WriteFile(path, []byte(head+"include: [\"merchants/*.yaml\"]\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := LoadWith(path, Options{Lookup: noEnv, Offline: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Merchants) != 100_000 {
			b.Fatalf("%d merchants", len(cfg.Merchants))
		}
	}
}

// FuzzSplitList cuts any file into a rest and runs, and wants nothing
// lost: the runs are the file's bytes in order, the rest keeps every line
// where it was, and a file read in parts reads as it does whole.
func FuzzSplitList(f *testing.F) {
	f.Add(bigFile(3, -1), 1)
	f.Add("merchants:\n- name: a\n  checks: []\n- name: b\n  checks: []\nproviders: []\n", 1)
	f.Add("merchants: [a, b]\n", 1)
	f.Add("merchants:\n  - a\n\t- b\n", 1)
	f.Fuzz(func(t *testing.T, text string, size int) {
		if size < 1 || size > 4 {
			return
		}
		defer func(was int) { runSize = was }(runSize)
		runSize = size
		rest, runs := splitList("f.yaml", []byte(text), "merchants")
		if len(runs) == 0 {
			if string(rest) != text {
				t.Fatal("a file left whole was changed")
			}
			return
		}
		if strings.Count(string(rest), "\n") != strings.Count(text, "\n") {
			t.Fatalf("the rest has %d lines, the file %d", strings.Count(string(rest), "\n"), strings.Count(text, "\n"))
		}
		var joined strings.Builder
		for i, r := range runs {
			if i > 0 && r.line <= runs[i-1].line {
				t.Fatalf("run %d starts on line %d, after run %d's %d", i, r.line, i-1, runs[i-1].line)
			}
			joined.Write(r.data)
		}
		if !strings.Contains(text, joined.String()) {
			t.Fatal("the runs are not the file's bytes in order")
		}
		// Parsing in parts must agree with parsing whole.
		parts, errParts := parseSplit("f.yaml", []byte(text), Options{Lookup: noEnv}, true)
		whole, errWhole := parseSplit("f.yaml", []byte(text), Options{Lookup: noEnv}, false)
		if (errParts == nil) != (errWhole == nil) {
			t.Fatalf("in parts: %v\nwhole: %v", errParts, errWhole)
		}
		if errParts == nil && !reflect.DeepEqual(parts.Merchants, whole.Merchants) {
			t.Fatal("the merchants differ")
		}
	})
}

// TestAloneInPartsAsWhole reads files whose merchants have problems of
// their own and problems beside each other, in long lists and included
// files, and wants the errors and warnings, in order, that checking every
// merchant with the whole gives.
func TestAloneInPartsAsWhole(t *testing.T) {
	n := 2*runSize + 345
	long := bigFile(n, -1)
	for _, r := range []struct{ from, to string }{
		{`"https://shop5.example/"`, `"ftp://shop5.example/"`},
		{"name: shop1500\n", "name: shop 1500\n"},
		{"name: shop2100\n", "name: shop3\n"},
		{`{url: "https://shop2200.example/"}`, `{url: "https://shop2200.example/", method: get, status: [99]}`},
		{`{url: "https://shop2201.example/"}`, `{url: "https://shop2201.example/"}, tcp: {address: "x:1"}`},
		{`{url: "https://shop2300.example/"}`, `{url: "https://SHOP7.example"}`},
	} {
		long = strings.Replace(long, r.from, r.to, 1)
	}
	warned := strings.Replace(bigFile(n, -1), `{url: "https://shop2300.example/"}`, `{url: "https://SHOP7.example"}`, 1)
	warned = strings.Replace(warned, "defaults: {", "defaults: {retry_interval: 2m, ", 1)
	const main = "storage: {driver: sqlite, dsn: hw.db}\ncontacts: [{name: kim, telegram: 1}]\ninclude: [\"m/*.yaml\"]\n"
	included := map[string]string{
		"f.yaml": main,
		"m/a.yaml": `merchants:
  - {name: a, contacts: [kim], checks: [{name: web, http: {url: "https://a.example/", method: get}}, {name: web, tcp: {address: nohost}}]}
  - name: b
    contacts: [nobody]
    checks:
      - {name: hb, heartbeat: {period: 1h, token: aaaaaaaaaaaaaaaaaaaa}}
      - {name: web, http: {url: "https://A.example"}}
`,
		"m/b.yaml": `merchants:
  - name: a
    policy: nopolicy
    checks:
      - {name: hb, heartbeat: {period: 1h, token: aaaaaaaaaaaaaaaaaaaa}}
      - {name: slow, schedule: "@every 1h", http: {url: "https://c.example/"}, down_after: 3}
  - {name: "c d", display_name: "", checks: [{name: web, http: {url: "https://d.example/"}, timeout: 0s}]}
`,
	}
	quiet := map[string]string{
		"f.yaml":   main,
		"m/a.yaml": "merchants:\n  - {name: a, contacts: [kim], checks: [{name: web, http: {url: \"https://a.example/\"}}]}\n",
		"m/b.yaml": "merchants:\n  - {name: b, checks: [{name: web, http: {url: \"https://A.example\"}}, {name: slow, schedule: \"@every 1h\", http: {url: \"https://c.example/\"}}]}\n",
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"a long list with errors in several runs", map[string]string{"f.yaml": long}},
		{"a long list with warnings in several runs", map[string]string{"f.yaml": warned}},
		{"included files with errors of their own and beside each other", included},
		{"included files with warnings", quiet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			path := filepath.Join(dir, "f.yaml")
			parts, errParts := LoadWith(path, Options{Lookup: noEnv})
			whole, errWhole := LoadWith(path, Options{Lookup: noEnv, whole: true})
			if errWhole == nil && len(whole.Warnings) == 0 {
				t.Fatal("the file has no problem to compare")
			}
			if fmt.Sprint(errParts) != fmt.Sprint(errWhole) {
				t.Fatalf("checked in parts:\n%v\nwhole:\n%v", errParts, errWhole)
			}
			if errWhole != nil {
				return
			}
			if fmt.Sprint(parts.Warnings) != fmt.Sprint(whole.Warnings) {
				t.Errorf("warnings in parts:\n%v\nwhole:\n%v", parts.Warnings, whole.Warnings)
			}
			if !reflect.DeepEqual(parts.Merchants, whole.Merchants) {
				t.Error("the merchants differ")
			}
		})
	}
}
