// Package notifier is how hostwatch tells people: the message model built
// from incidents, its rendering as text, and the Notifier interface that
// each destination (notifier/console, and the chat apps) implements.
package notifier
