// Package deploy holds what installs hostwatch on a server or in a
// container: the systemd unit, the configuration they are shown with, and
// the compose file for the image the repository's Dockerfile builds. It has
// no code; its tests keep these files agreeing with each other and with
// the binary.
package deploy
