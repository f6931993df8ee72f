// Package locale holds the languages hostwatch speaks: how each writes a
// date, a clock time and a duration, and the templates, embedded and
// overridable from a directory, that put messages and replies into words.
package locale
