package locale

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"
)

//go:embed templates
var builtin embed.FS

// Templates are the templates of every language: the built-in ones, and
// over them those of a directory of the operator's.
type Templates struct {
	loc *time.Location
	// builtin and custom are one set per language; custom is nil where
	// no file of the directory overrides the language.
	builtin, custom map[Lang]*template.Template
}

// Load parses the built-in templates and, when dir is not empty, every
// *.tmpl file of dir laid out the same way (dir/ko/message.tmpl,
// dir/en/bot.tmpl): a definition there replaces the built-in one of the
// same name for that language. Times are written in loc. The error names
// each file that is wrong, and the line.
func Load(dir string, loc *time.Location) (*Templates, error) {
	if loc == nil {
		loc = time.UTC
	}
	t := &Templates{loc: loc, builtin: map[Lang]*template.Template{}, custom: map[Lang]*template.Template{}}
	for _, l := range Langs {
		set, err := template.New(string(l)).Funcs(l.funcs(loc)).ParseFS(builtin, "templates/"+string(l)+"/*.tmpl")
		if err != nil {
			return nil, fmt.Errorf("built-in templates: %w", err)
		}
		t.builtin[l] = set
	}
	if dir == "" {
		return t, nil
	}
	var errs []error
	for _, l := range Langs {
		files, err := filepath.Glob(filepath.Join(dir, string(l), "*.tmpl"))
		if err != nil {
			return nil, fmt.Errorf("templates %s: %w", dir, err)
		}
		if len(files) == 0 {
			continue
		}
		set, err := t.builtin[l].Clone()
		if err != nil {
			return nil, fmt.Errorf("templates %s: %w", dir, err)
		}
		for _, f := range files {
			if err := override(set, t.builtin[l], f, l.funcs(loc)); err != nil {
				errs = append(errs, err)
			}
		}
		t.custom[l] = set
	}
	if entries, err := os.ReadDir(dir); err != nil {
		errs = append(errs, fmt.Errorf("cannot read the directory: %w", err))
	} else {
		for _, e := range entries {
			if _, ok := Parse(e.Name()); !ok {
				errs = append(errs, fmt.Errorf("%s: not a language this hostwatch speaks (%s)", filepath.Join(dir, e.Name()), strings.Join(langNames(), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// override parses the file into set, refusing definitions that replace
// nothing: a misspelt name would otherwise be ignored in silence.
func override(set, builtin *template.Template, file string, funcs template.FuncMap) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// Named by its path, so that text/template's errors say
	// "template: /etc/hostwatch/templates/ko/message.tmpl:12: ...".
	parsed, err := template.New(file).Funcs(funcs).Parse(string(data))
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	var errs []error
	for _, d := range parsed.Templates() {
		if d.Name() == file {
			continue
		}
		if builtin.Lookup(d.Name()) == nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a template hostwatch uses", file, d.Name()))
			continue
		}
		if _, err := set.AddParseTree(d.Name(), d.Tree); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
		}
	}
	return errors.Join(errs...)
}

func langNames() []string {
	var s []string
	for _, l := range Langs {
		s = append(s, string(l))
	}
	return s
}

// Exec runs the template name of language lang on data. A template of the
// operator's that fails falls back to the built-in one, and the error
// says so while the words still come out.
func (t *Templates) Exec(lang Lang, name string, data any) (string, error) {
	if _, ok := t.builtin[lang]; !ok {
		lang = English
	}
	var custom error
	if set := t.custom[lang]; set != nil {
		var b strings.Builder
		if custom = set.ExecuteTemplate(&b, name, data); custom == nil {
			return b.String(), nil
		}
	}
	var b strings.Builder
	if err := t.builtin[lang].ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("template %s/%s: %w", lang, name, err)
	}
	if custom != nil {
		return b.String(), fmt.Errorf("template %s/%s of the templates directory failed, the built-in one was used: %w", lang, name, custom)
	}
	return b.String(), nil
}

// Names lists the templates every language defines.
func (t *Templates) Names() []string {
	var names []string
	for _, d := range t.builtin[English].Templates() {
		if d.Tree != nil && !strings.HasSuffix(d.Name(), ".tmpl") && d.Name() != string(English) {
			names = append(names, d.Name())
		}
	}
	slices.Sort(names)
	return names
}

// Location is where the templates' times are written.
func (t *Templates) Location() *time.Location { return t.loc }

// funcs are what templates of language l may call; times come out in loc.
func (l Lang) funcs(loc *time.Location) template.FuncMap {
	in := func(t time.Time) time.Time { return t.In(loc) }
	return template.FuncMap{
		"stamp":    func(t time.Time) string { return l.Stamp(in(t)) },
		"minute":   func(t time.Time) string { return l.Minute(in(t)) },
		"date":     func(t time.Time) string { return l.Date(in(t)) },
		"clock":    func(t time.Time) string { return in(t).Format("15:04") + " " + Zone(in(t)) },
		"between":  func(a, b time.Time) string { return l.Range(in(a), in(b)) },
		"duration": l.Duration,
		"exact":    l.Exact,
		"join":     func(s []string, sep string) string { return strings.Join(s, sep) },
		"list":     l.List,
		// iso is a moment as the record writes it: 2026-11-25 14:02:10.
		"iso": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return in(t).Format("2006-01-02 15:04:05")
		},
		"zone": func(t time.Time) string { return Zone(in(t)) },
	}
}

// Builtin is the file system of the built-in templates, for tools that
// show them to operators who want to start from them.
func Builtin() fs.FS {
	sub, _ := fs.Sub(builtin, "templates")
	return sub
}
