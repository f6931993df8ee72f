package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is whether a check is up or down.
type State string

// The states of a check.
const (
	Unknown State = "unknown"
	Up      State = "up"
	Down    State = "down"
)

// CheckState is what the monitor must not forget across a restart.
type CheckState struct {
	Check string // merchant/check
	State State
	// Since is when the check entered State.
	Since time.Time
	// FailStreak and OKStreak count the consecutive failed and successful
	// probes; at most one is non-zero.
	FailStreak int
	OKStreak   int
	// StreakSince is the time of the first probe of the current streak.
	StreakSince time.Time
	// Probed is the time of the probe this state follows: a state older
	// than the one stored (a probe that outlasted the handover of its
	// check to another instance) is not saved over it.
	Probed time.Time
	// First is the time of the check's first probe: a report measures the
	// check from then, not from the hour its first aggregate counts. The
	// store keeps the earliest it is given; zero for a check never probed.
	First time.Time
	// Incident is the open incident of the check, 0 if none; the store
	// knows it, and ignores it on save.
	Incident int64
}

// Failure is one failed probe, kept in full. It belongs to its check's
// incident open when it is stored, if one is.
type Failure struct {
	Check    string
	At       time.Time
	Latency  time.Duration
	Kind     string
	Error    string
	Evidence string
	// Incident is the incident the failure belongs to, 0 if none; the
	// store knows it, and ignores it on save.
	Incident int64
}

// Stat aggregates the probes of one check over one period.
type Stat struct {
	Check      string
	Period     time.Time // start of the hour
	OK, Failed int
	LatencySum time.Duration
	LatencyMax time.Duration
}

// Incident is one outage of one check.
type Incident struct {
	ID    int64
	Check string
	// Start is the time of the first failed probe of the run that confirmed
	// the outage; Confirmed the time of the probe that confirmed it.
	Start     time.Time
	Confirmed time.Time
	// End is the time of the first successful probe of the run that ended
	// the outage; zero while the incident is open.
	End        time.Time
	ResolvedBy string
	// AckAt and AckBy say who acknowledged the incident and when; zero
	// while nobody has.
	AckAt  time.Time
	AckBy  string
	Errors []ErrorSummary
	// Alert is the alert that tells people of the incident.
	Alert int64
	// Announced is when a message first told of the incident; zero while
	// it was held (silenced, in maintenance, flapping, or in group_wait).
	Announced time.Time
	// Alerted is when the first message telling of it was delivered.
	Alerted time.Time
	// FirstAckAt and FirstAckBy are its first acknowledgement: AckAt and
	// AckBy are the one in force, cleared by an ack timeout.
	FirstAckAt time.Time
	FirstAckBy string
}

// Open reports whether the incident has not ended.
func (i *Incident) Open() bool { return i.End.IsZero() }

// Downtime is End minus Start, or the time so far for an open incident.
func (i *Incident) Downtime(now time.Time) time.Duration {
	if i.Open() {
		return now.Sub(i.Start)
	}
	return i.End.Sub(i.Start)
}

// ErrorSummary counts the failures of one kind seen during an incident.
type ErrorSummary struct {
	Kind       string
	Count      int
	First      time.Time
	FirstError string
	Last       time.Time
	LastError  string
}

// Event is one entry of an incident's timeline.
type Event struct {
	Incident int64
	At       time.Time
	Kind     string // opened, resolved, ...
	Detail   string
}

// StateChange records a check moving from one state to another.
type StateChange struct {
	Check    string
	At       time.Time
	From, To State
	Incident int64
}

// The scopes of an alert.
const (
	ScopeMerchant = "merchant"
	ScopeProvider = "provider"
)

// Alert is what people are told about: the incidents of one merchant that
// went down together, or a whole provider's outage. It carries the
// escalation's progress, so that a restart resumes it.
type Alert struct {
	ID     int64
	Scope  string // ScopeMerchant or ScopeProvider
	Name   string // the merchant's or the provider's
	Opened time.Time
	// FlushAt is when group_wait ends and the first message may go out;
	// zero once it has passed.
	FlushAt time.Time
	// Base is the time the escalation steps count from; zero until the
	// first message went out.
	Base time.Time
	// Run and Step are the next escalation step to take: Step of the
	// steps, in run Run (0 is the first run, repeats follow).
	Run, Step int
	// NextAt is when something falls due: the end of group_wait, a step,
	// the end of the ack timeout. Zero when nothing will.
	NextAt time.Time
	// Triggered is when the alert last (re)started escalating; an
	// acknowledgement before it no longer counts.
	Triggered time.Time
	AckAt     time.Time
	AckBy     string
	// Told fingerprints what the alert's messages say, so that a change
	// is told once.
	Told   string
	Closed time.Time
	// Peak and Since are, for a provider, the most checks down at once
	// and since when they have been.
	Peak  int
	Since time.Time
}

// Silence holds the messages about a target until End.
type Silence struct {
	ID       int64
	Target   string // merchant/check, merchant or provider:NAME
	Start    time.Time
	End      time.Time
	Reason   string
	By       string
	Lifted   time.Time
	LiftedBy string
}

// Window is one maintenance window as it happened.
type Window struct {
	Name       string
	Start, End time.Time
	Targets    []string
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	// IDs keeps these incidents; all when nil.
	IDs   []int64
	Check string // all checks when empty
	// Alert keeps the incidents of one alert, Alerts those of these.
	Alert  int64
	Alerts []int64
	// Merchants keeps the incidents of these merchants' checks; all when
	// nil.
	Merchants []string
	OpenOnly  bool
	Since     time.Time // incidents still open at or started after this time
	Limit     int
}

// ErrSchemaNewer is a store whose schema a newer hostwatch has migrated:
// this one does not know it and must not write to it.
type ErrSchemaNewer struct {
	Have, Know int
}

func (e *ErrSchemaNewer) Error() string {
	return fmt.Sprintf("the store's schema is at version %d, newer than this hostwatch knows (%d): run the newer hostwatch", e.Have, e.Know)
}

// ErrNotFound is returned when what was asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrAcknowledged is returned for an incident acknowledged before.
var ErrAcknowledged = errors.New("already acknowledged")

// Store is a whole store: queries, and Update for writes.
type Store interface {
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Register makes sure every named check has a place in the store.
	Register(ctx context.Context, checks []string) error
	// CheckStates returns the saved state of every check, by name.
	CheckStates(ctx context.Context) (map[string]CheckState, error)
	// CheckState returns the saved state of one check.
	CheckState(ctx context.Context, check string) (CheckState, error)
	// Incidents lists incidents, newest first.
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// Incident returns one incident with its error summary.
	Incident(ctx context.Context, id int64) (Incident, error)
	// Events returns an incident's timeline, oldest first.
	Events(ctx context.Context, incident int64) ([]Event, error)
	// Failures lists a check's failed probes in [from, to), oldest first.
	Failures(ctx context.Context, check string, from, to time.Time) ([]Failure, error)
	// StateChanges lists every check's state changes at or after since,
	// oldest first.
	StateChanges(ctx context.Context, since time.Time) ([]StateChange, error)
	// FirstSeen returns when each check was first probed, to the
	// millisecond, by name; a check never probed is not in it.
	FirstSeen(ctx context.Context) (map[string]time.Time, error)
	// Flapping returns the checks that are flapping, with since when.
	Flapping(ctx context.Context) (map[string]time.Time, error)
	// OpenAlerts lists the alerts not closed, oldest first.
	OpenAlerts(ctx context.Context) ([]Alert, error)
	// Silences lists the silences set by command that are neither lifted
	// nor over at t, oldest first.
	Silences(ctx context.Context, t time.Time) ([]Silence, error)
	// Windows lists the maintenance windows that overlap [from, to).
	Windows(ctx context.Context, from, to time.Time) ([]Window, error)
	// Stats lists a check's aggregated probes in [from, to), oldest first.
	Stats(ctx context.Context, check string, from, to time.Time) ([]Stat, error)
	// Update runs fn in one transaction: all of its writes land, or none.
	Update(ctx context.Context, fn func(Tx) error) error
	// Compact rolls hourly stats older than the retention into daily ones
	// and drops failed probes past theirs.
	Compact(ctx context.Context, now time.Time) error
	// Alert returns one alert, open or closed.
	Alert(ctx context.Context, id int64) (Alert, error)
	// Origins returns what the store knows of the checks a source other
	// than the probes reported (an Alertmanager alert, an event), by name.
	Origins(ctx context.Context) (map[string]Origin, error)
	// PingToken returns the token of a heartbeat check's ping URL: the
	// one stored, or else made, which it stores.
	PingToken(ctx context.Context, check string, made string) (string, error)
	Outbox
	Replays
	Members
	Leases
	Close() error
}

// Instance is one daemon running on the store.
type Instance struct {
	// Name is cluster.instance, the host's name by default.
	Name string
	// Token tells one run of the daemon from another: a second process
	// that takes the same name while the first holds it is refused.
	Token string
	// Replaces is the token of an earlier run of the same name that is
	// known to be dead (its process is gone), whose lease it takes over.
	Replaces string
	Location string
	// Role says what the instance does besides probing its checks.
	Role string
	PID  int
	Host string
	// Started is when the process started; Since is when it began to
	// take checks; Seen is its last heartbeat; Until is when its lease
	// ends unless renewed. All are in the store's clock.
	Started, Since, Seen, Until time.Time
	// Checks is how many checks it probes.
	Checks int
}

// Members is the membership of the daemons that share a store: each renews
// a lease by heartbeat, and those whose lease runs share the work.
type Members interface {
	// Beat renews inst's lease until the store's now plus ttl. An
	// instance whose lease has ended, or that had none, joins afresh:
	// it takes checks from now plus settle. It fails with an
	// *ErrNameTaken when another process holds the name. It returns the
	// store's now and every instance whose lease runs, by name.
	Beat(ctx context.Context, inst Instance, ttl, settle time.Duration) (time.Time, []Instance, error)
	// Leave ends the lease of the run token of instance name at once.
	Leave(ctx context.Context, name, token string) error
}

// ErrNameTaken is a Beat refused: another process holds the name.
type ErrNameTaken struct {
	Holder Instance
}

func (e *ErrNameTaken) Error() string {
	return fmt.Sprintf("instance name %q is held by another running hostwatch (PID %d on %s, started %s): give each instance its own cluster.instance",
		e.Holder.Name, e.Holder.PID, e.Holder.Host, e.Holder.Started.UTC().Format(time.RFC3339))
}

// Replays remembers the signed requests taken (Slack's), so that each is
// taken once, by whichever instance gets it first.
type Replays interface {
	// TakeOnce records key until expires and reports whether it is new:
	// false when the same key was taken before and has not expired by
	// now.
	TakeOnce(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// Origin is what a source other than the probes said of a check it
// reported: a firing alert of Alertmanager, an event of a tool.
type Origin struct {
	// Source is the name of the source (sources[].name).
	Source string
	// Title names the check to people: "prom/HighErrorRate".
	Title string
	// Labels are the alert's labels, as the source gave them.
	Labels map[string]string
	// Summary is what the source last said of it.
	Summary string
}

// Tx is one transaction on a Store, valid inside Update: its writes, and
// the reads that must see the store as the transaction does.
type Tx interface {
	// SaveCheckState stores a check's state, unless the stored one
	// follows a later probe.
	SaveCheckState(ctx context.Context, s CheckState) error
	// SetOrigin records what a source said of check.
	SetOrigin(ctx context.Context, check string, o Origin) error
	AddStateChange(ctx context.Context, c StateChange) error
	// AddFailures stores failed probes; each also counts in the error
	// summary of its check's open incident, if one is.
	AddFailures(ctx context.Context, fs []Failure) error
	// AddStats adds counts to the hourly aggregates.
	AddStats(ctx context.Context, ss []Stat) error
	// OpenIncident opens an incident for check and claims the check's
	// failed probes since start for it. A check has one open incident at
	// most: when it has one, that one is returned and opened is false.
	OpenIncident(ctx context.Context, check string, start, confirmed time.Time) (id int64, opened bool, err error)
	// ResolveOpen ends the open incident of check, if it has one, and
	// returns its number, or 0.
	ResolveOpen(ctx context.Context, check string, end time.Time, by string) (int64, error)
	// RecordChange stores a check's change of state, with what it does
	// to the check's incident, and signals it: see Change.
	RecordChange(ctx context.Context, c Change) error
	// ResolveIncident ends an open incident.
	ResolveIncident(ctx context.Context, id int64, end time.Time, by string) error
	// Acknowledge records who took an open incident in hand; it fails
	// with ErrNotFound for an incident that is not open. An empty by
	// clears the acknowledgement.
	Acknowledge(ctx context.Context, id int64, by string, at time.Time) error
	// Incidents lists incidents as Store.Incidents does, as this
	// transaction sees them.
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// SaveAlert stores a, giving a new one its ID.
	SaveAlert(ctx context.Context, a *Alert) error
	// Alert returns one alert, open or closed.
	Alert(ctx context.Context, id int64) (Alert, error)
	// JoinAlert makes incident part of alert.
	JoinAlert(ctx context.Context, incident, alert int64) error
	// Announce records that a message first told of incident at at.
	Announce(ctx context.Context, incident int64, at time.Time) error
	// AlertSends lists the messages sent about an alert, oldest first:
	// those that later edits change.
	AlertSends(ctx context.Context, alert int64) ([]OutboxItem, error)
	// AddSilence stores s, giving it its ID.
	AddSilence(ctx context.Context, s *Silence) error
	// LiftSilence ends silence id early; ErrNotFound if it is not active.
	LiftSilence(ctx context.Context, id int64, by string, at time.Time) error
	// Silences lists the silences in force at t, as Store.Silences does.
	Silences(ctx context.Context, t time.Time) ([]Silence, error)
	// AddWindow records a maintenance window; recording one twice is no
	// error.
	AddWindow(ctx context.Context, w Window) error
	// SetFlapping records that check is flapping since since, or with the
	// zero time that it is not.
	SetFlapping(ctx context.Context, check string, since time.Time) error
	AddEvent(ctx context.Context, e Event) error
	// LastPost returns when the scheduled post name last went out and
	// what it said; the zero time if it never did.
	LastPost(ctx context.Context, name string) (at time.Time, value string, err error)
	// SetPost records that the scheduled post name went out at at,
	// saying value.
	SetPost(ctx context.Context, name string, at time.Time, value string) error
	// Enqueue adds messages to the outbox, giving each its ID; they are
	// delivered only if the transaction commits.
	Enqueue(ctx context.Context, items []OutboxItem) error
	// Signal tells the incident engine, through the store, that
	// something it decides on changed; it is taken only if the
	// transaction commits.
	Signal(ctx context.Context, s Signal) error
	// Signals lists the signals not yet taken, oldest first, at most
	// limit; TakeSignals drops those taken.
	Signals(ctx context.Context, limit int) ([]Signal, error)
	TakeSignals(ctx context.Context, ids []int64) error
	// Fence fails with ErrLeaseLost unless holder holds lease name now,
	// and keeps the lease from changing hands until the transaction
	// ends: the work of a lease commits only while it is held.
	Fence(ctx context.Context, name, holder string) error
	// Exclude waits for the transaction of lease name under way, whoever
	// holds it, and keeps the next from starting until this one ends.
	Exclude(ctx context.Context, name string) error
}

// Change is a check's change of state as the instance that probes it
// records it. Down opens the check's incident, unless one is open, with an
// "opened" entry in its timeline; up from down resolves it (by
// "recovery"), with a "resolved" entry. Either way the state change is
// recorded, with the incident, and signalled.
type Change struct {
	Check    string
	From, To State
	// Since is when the new state began: the incident's start or end.
	Since time.Time
	// Confirmed is the time of the probe that made the change.
	Confirmed time.Time
	// Now and Detail are the time and the text of the timeline's entry.
	Now    time.Time
	Detail string
}

// RecordChange does what Tx.RecordChange does with the other methods of
// tx, one after the other: for a store whose statements cost no round trip.
func RecordChange(ctx context.Context, tx Tx, c Change) error {
	var incident int64
	switch {
	case c.To == Down:
		id, opened, err := tx.OpenIncident(ctx, c.Check, c.Since, c.Confirmed)
		if err != nil {
			return err
		}
		incident = id
		if opened {
			if err := tx.AddEvent(ctx, Event{Incident: id, At: c.Now, Kind: "opened", Detail: c.Detail}); err != nil {
				return err
			}
		}
	case c.From == Down:
		id, err := tx.ResolveOpen(ctx, c.Check, c.Since, "recovery")
		if err != nil {
			return err
		}
		if incident = id; id != 0 {
			if err := tx.AddEvent(ctx, Event{Incident: id, At: c.Now, Kind: "resolved", Detail: c.Detail}); err != nil {
				return err
			}
		}
	}
	if err := tx.AddStateChange(ctx, StateChange{Check: c.Check, At: c.Since, From: c.From, To: c.To, Incident: incident}); err != nil {
		return err
	}
	return tx.Signal(ctx, Signal{Kind: SignalChange, Check: c.Check, Incident: incident, At: c.Since})
}

// The kinds of signal.
const (
	// SignalChange is a check that changed state at At; Incident is the
	// incident it opened or resolved, if any.
	SignalChange = "change"
	// SignalIncident is an incident acknowledged or resolved by hand.
	SignalIncident = "incident"
	// SignalAlert is an alert acknowledged by hand.
	SignalAlert = "alert"
	// SignalSilences is a silence set or lifted.
	SignalSilences = "silences"
)

// Signal is one change the incident engine must take into account: the
// store holds what changed, the signal says where to look.
type Signal struct {
	ID       int64
	Kind     string
	Check    string
	Incident int64
	Alert    int64
	At       time.Time
}

// Leases are named leases, each held by one instance at a time: the work
// that must be done exactly once across the instances (the incident
// engine's decisions, Telegram's long polling) is done by its holder.
type Leases interface {
	// Lease takes lease name for holder, or renews it, until the store's
	// now plus ttl: it reports whether holder has it, which it does when
	// it held it or nobody's lease runs.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease at once, for another to take.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// ErrLeaseLost is a transaction fenced off: its instance no longer holds
// the lease its work needs.
var ErrLeaseLost = errors.New("the lease is held by another instance")

// Message states in the outbox.
const (
	Pending = "pending"
	Sent    = "sent"
	Failed  = "failed"
)

// OutboxItem is one message to deliver to one destination.
type OutboxItem struct {
	ID          int64
	CreatedAt   time.Time
	Destination string // platform:address
	Incident    int64
	Alert       int64
	Op          string // send or edit
	Ref         int64  // for an edit: the ID of the send it edits
	Payload     []byte
	State       string
	Attempts    int
	NextAt      time.Time
	LastError   string
	Receipt     string // the platform's id of the sent message
}

// Claim is a destination that one instance delivers to, alone, while its
// claim runs: one message in flight per destination across the instances,
// in the order they were written.
type Claim struct {
	Destination string
	// LastSent is when a message last went out to it, from whichever
	// instance, for its pacing.
	LastSent time.Time
}

// Outbox is what the dispatcher needs of the store.
type Outbox interface {
	// Claim takes for holder, until the store's now plus ttl, the
	// destinations that have pending messages and no other holder's
	// running claim, at most limit, and renews holder's own; it returns
	// every destination holder holds. Instances claiming at once take
	// different destinations without waiting for each other.
	Claim(ctx context.Context, holder string, ttl time.Duration, limit int) ([]Claim, error)
	// Unclaim ends holder's claims at once, for others to take (at
	// shutdown); a claim not renewed runs out by itself.
	Unclaim(ctx context.Context, holder string) error
	// PendingTo lists the pending items of dests with an ID above after,
	// oldest first.
	PendingTo(ctx context.Context, dests []string, after int64, limit int) ([]OutboxItem, error)
	// Pending lists pending items with an ID above after, oldest first.
	Pending(ctx context.Context, after int64, limit int) ([]OutboxItem, error)
	// Item returns one item.
	Item(ctx context.Context, id int64) (OutboxItem, error)
	// MarkSent records a delivery and the platform's id for the message,
	// and when its destination last had one.
	MarkSent(ctx context.Context, id int64, receipt string, at time.Time) error
	// MarkRetry records a failed attempt and when to try again.
	MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error
	// MarkFailed gives up on an item.
	MarkFailed(ctx context.Context, id int64, attempts int, lastErr string, at time.Time) error
}

// Retention of the record; incidents, their error summaries and timelines
// are kept for good.
const (
	// HourlyStatsFor is how long hourly aggregates are kept before they are
	// rolled into daily ones.
	HourlyStatsFor = 31 * 24 * time.Hour
	// FailuresFor is how long each failed probe is kept in full. Incidents
	// keep a summary of theirs (first, last, count per kind) for good.
	FailuresFor = 400 * 24 * time.Hour
)
