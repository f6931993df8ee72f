// Package agent probes shops from another place for the hostwatch server
// and speaks the protocol between the two. An agent pulls the checks
// assigned to its location (GET /agent/v1/checks), probes them on their
// schedules with the same checks code as the daemon, and pushes what it saw
// in batches (POST /agent/v1/results), keeping a bounded buffer while the
// server cannot be reached. Every request is signed with the agent's token,
// which never travels; Server is the other end, for the daemon to mount.
package agent
