// Package bot is the command grammar shared by the chat apps: the commands
// people type (/status, /ack 12, /silence kim-shop 1h ...) and the actions
// behind alert buttons, parsed from untrusted text into typed values.
package bot
