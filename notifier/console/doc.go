// Package console is the notifier of last resort: with no chat app
// configured, each message is printed as one readable line, so the daemon
// does its whole job on a machine with no account anywhere.
package console
