package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The kinds of entry in the chain.
const (
	ChainFailure     = "failure"
	ChainStateChange = "state_change"
	ChainEvent       = "event"
	ChainAck         = "ack"
	// ChainCompact records that compaction dropped the failed probes
	// before a time: their entries stay, their rows may be gone.
	ChainCompact = "compact"
)

// ChainGenesis is the prev of the chain's first entry.
const ChainGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// ChainEntry is one entry of the tamper-evident chain: it covers one row
// of the record, written in the same transaction.
type ChainEntry struct {
	Seq int64
	// At is the time of the row it covers.
	At   time.Time
	Kind string
	// Ref names the row it covers: "shop/web 2026-11-25T14:02:10.000Z"
	// for a failure, "#12 2026-11-25T14:02:10.000Z opened" for an event.
	Ref string
	// Content is the canonical text of the row that was hashed.
	Content string
	// Prev is the hash of the entry before, Hash SHA-256(Prev + "\n" +
	// Content), both in hex.
	Prev, Hash string
}

// ChainBreak is the first entry of the chain that does not match.
type ChainBreak struct {
	Seq     int64
	Kind    string
	Ref     string
	Problem string
}

func (b *ChainBreak) Error() string {
	return fmt.Sprintf("entry %d, %s %s: %s", b.Seq, strings.ReplaceAll(b.Kind, "_", " "), b.Ref, b.Problem)
}

// ChainVerified is what a walk of the chain checked.
type ChainVerified struct {
	Entries     int
	First, Last ChainEntry
}

// Verifier is a store that keeps the chain.
type Verifier interface {
	// VerifyChain walks the chain in order from its first entry at or
	// after from, checking each hash and each covered row as stored now.
	VerifyChain(ctx context.Context, from time.Time) (ChainVerified, *ChainBreak, error)
	// ChainHead returns the last entry's number, hash and time; 0, ""
	// and the zero time for an empty chain.
	ChainHead(ctx context.Context) (seq int64, hash string, at time.Time, err error)
}

// ChainHash is the hash of an entry with prev and content.
func ChainHash(prev, content string) string {
	buf := make([]byte, 0, len(prev)+1+len(content))
	buf = append(append(append(buf, prev...), '\n'), content...)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// Link numbers entries after the head (seq, hash) and chains them; it
// returns the new head.
func Link(seq int64, hash string, entries []ChainEntry) (int64, string) {
	if hash == "" {
		hash = ChainGenesis
	}
	for i := range entries {
		seq++
		entries[i].Seq, entries[i].Prev = seq, hash
		hash = ChainHash(hash, entries[i].Content)
		entries[i].Hash = hash
	}
	return seq, hash
}

// chainTime is a time in the chain's text: RFC 3339 in UTC, to the
// millisecond the stores keep.
func chainTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// canonical joins fields with |, escaping \, | and newlines in each, so
// that no two rows give the same text.
func canonical(fields ...string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('|')
		}
		if !strings.ContainsAny(f, "\\|\n") {
			b.WriteString(f)
			continue
		}
		for _, r := range f {
			switch r {
			case '\\', '|':
				b.WriteByte('\\')
				b.WriteRune(r)
			case '\n':
				b.WriteString(`\n`)
			default:
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// fields splits what canonical joined, leaving the escapes.
func fields(content string) []string {
	var out []string
	start := 0
	for i := 0; i < len(content); i++ {
		switch content[i] {
		case '\\':
			i++
		case '|':
			out = append(out, content[start:i])
			start = i + 1
		}
	}
	return append(out, content[start:])
}

// FailureEntry is the entry of a failed probe.
func FailureEntry(f Failure) ChainEntry {
	at := chainTime(f.At)
	return ChainEntry{At: f.At, Kind: ChainFailure, Ref: f.Check + " " + at,
		Content: canonical(ChainFailure, f.Check, at, f.Kind, f.Error)}
}

// StateChangeEntry is the entry of a state change.
func StateChangeEntry(c StateChange) ChainEntry {
	at := chainTime(c.At)
	return ChainEntry{At: c.At, Kind: ChainStateChange, Ref: c.Check + " " + at,
		Content: canonical(ChainStateChange, c.Check, at, string(c.From), string(c.To), incidentRef(c.Incident))}
}

// EventEntry is the entry of an incident's timeline entry.
func EventEntry(e Event) ChainEntry {
	at := chainTime(e.At)
	return ChainEntry{At: e.At, Kind: ChainEvent, Ref: incidentRef(e.Incident) + " " + at + " " + e.Kind,
		Content: canonical(ChainEvent, incidentRef(e.Incident), at, e.Kind, e.Detail)}
}

// AckEntry is the entry of an acknowledgement, or of one cleared (by
// empty).
func AckEntry(incident int64, by string, at time.Time) ChainEntry {
	t := chainTime(at)
	return ChainEntry{At: at, Kind: ChainAck, Ref: incidentRef(incident) + " " + t,
		Content: canonical(ChainAck, incidentRef(incident), t, by)}
}

// CompactEntry is the entry of a compaction that dropped the failed probes
// before before.
func CompactEntry(before, now time.Time) ChainEntry {
	return ChainEntry{At: now, Kind: ChainCompact, Ref: "failures before " + chainTime(before),
		Content: canonical(ChainCompact, chainTime(now), chainTime(before))}
}

// AckState is an incident's acknowledgement as stored: by is empty when
// none is in force.
func AckState(by string, at time.Time) string {
	if by == "" {
		return ""
	}
	return canonical(chainTime(at), by)
}

func incidentRef(id int64) string {
	if id == 0 {
		return "-"
	}
	return "#" + strconv.FormatInt(id, 10)
}

// ChainRows are the rows the chain covers as a store holds them now, for a
// walk of the chain.
type ChainRows struct {
	// rows are the canonical texts of the failures, state changes and
	// events, by their entries' kind and ref.
	rows map[string][]string
	// acks are the acknowledgements in force, by incident ("#12"): the
	// last ack entry of each must match.
	acks map[string]string
	// compacted is the latest time before which compaction dropped the
	// failed probes.
	compacted time.Time
}

// NewChainRows makes an empty set of rows.
func NewChainRows() *ChainRows {
	return &ChainRows{rows: map[string][]string{}, acks: map[string]string{}}
}

// Add adds the row an entry covers, as e (made by FailureEntry,
// StateChangeEntry or EventEntry) from the row as stored.
func (r *ChainRows) Add(e ChainEntry) {
	k := e.Kind + " " + e.Ref
	r.rows[k] = append(r.rows[k], e.Content)
}

// Ack adds the acknowledgement in force of an incident, as AckState makes it.
func (r *ChainRows) Ack(incident int64, state string) {
	r.acks[incidentRef(incident)] = state
}

// ChainSource is what a walk reads of a store, all in one snapshot.
type ChainSource interface {
	// ChainStart returns the first entry's number at or after from, and
	// the hash of the entry before it (ChainGenesis for the first); ok is
	// false when there is none.
	ChainStart(ctx context.Context, from time.Time) (seq int64, prev string, ok bool, err error)
	// ChainRows reads the rows at or after the time of entry seq, and
	// the compactions of the whole chain.
	ChainRows(ctx context.Context, seq int64) (*ChainRows, error)
	// ChainEntries calls fn with each entry from seq on, in order, until
	// it returns false.
	ChainEntries(ctx context.Context, seq int64, fn func(ChainEntry) bool) error
}

// WalkChain verifies the chain of src from its first entry at or after
// from: each entry's prev and hash, and the row it covers as stored now.
func WalkChain(ctx context.Context, src ChainSource, from time.Time) (ChainVerified, *ChainBreak, error) {
	var v ChainVerified
	seq, prev, ok, err := src.ChainStart(ctx, from)
	if err != nil || !ok {
		return v, nil, err
	}
	rows, err := src.ChainRows(ctx, seq)
	if err != nil {
		return v, nil, err
	}
	var bad *ChainBreak
	lastAck := map[string]ChainEntry{}
	want := seq
	err = src.ChainEntries(ctx, seq, func(e ChainEntry) bool {
		broken := func(problem string, args ...any) bool {
			bad = &ChainBreak{Seq: e.Seq, Kind: e.Kind, Ref: e.Ref, Problem: fmt.Sprintf(problem, args...)}
			return false
		}
		switch {
		case e.Seq != want:
			return broken("entry %d is missing before it", want)
		case e.Prev != prev:
			return broken("its prev is not the hash of the entry before it")
		case ChainHash(e.Prev, e.Content) != e.Hash:
			return broken("its hash does not match its content")
		}
		switch e.Kind {
		case ChainFailure, ChainStateChange, ChainEvent:
			if problem := rows.take(e); problem != "" {
				return broken("%s", problem)
			}
		case ChainAck:
			id, _, _ := strings.Cut(e.Ref, " ")
			lastAck[id] = e
		}
		if v.Entries == 0 {
			v.First = e
		}
		v.Entries++
		v.Last = e
		want, prev = e.Seq+1, e.Hash
		return true
	})
	if err != nil || bad != nil {
		return v, bad, err
	}
	// An acknowledgement is overwritten by the next: the last of each
	// incident is the one its row holds.
	for id, e := range lastAck {
		f := fields(e.Content)
		have, ok := rows.acks[id]
		wantAck := ""
		if f[3] != "" {
			wantAck = f[2] + "|" + f[3]
		}
		var problem string
		switch {
		case !ok:
			problem = "the incident is gone"
		case have != wantAck:
			problem = "the incident's acknowledgement differs"
		default:
			continue
		}
		if bad == nil || e.Seq < bad.Seq {
			bad = &ChainBreak{Seq: e.Seq, Kind: e.Kind, Ref: e.Ref, Problem: problem}
		}
	}
	return v, bad, nil
}

// fieldNames name the fields of each kind's content, for what differs.
var fieldNames = map[string][]string{
	ChainFailure:     {"kind", "check", "time", "error kind", "error"},
	ChainStateChange: {"kind", "check", "time", "from state", "to state", "incident"},
	ChainEvent:       {"kind", "incident", "time", "event kind", "detail"},
}

// take finds and removes the row e covers, or says what is wrong with it.
func (r *ChainRows) take(e ChainEntry) string {
	k := e.Kind + " " + e.Ref
	have := r.rows[k]
	for i, c := range have {
		if c == e.Content {
			have[i] = have[len(have)-1]
			r.rows[k] = have[:len(have)-1]
			return ""
		}
	}
	if len(have) == 0 {
		if e.Kind == ChainFailure && e.At.Before(r.compacted) {
			return ""
		}
		return "the row is gone"
	}
	want, got := fields(e.Content), fields(have[0])
	var differ []string
	for i, name := range fieldNames[e.Kind] {
		if i >= len(want) || i >= len(got) || want[i] != got[i] {
			differ = append(differ, name)
		}
	}
	if len(differ) == 0 {
		differ = append(differ, "content")
	}
	return "its " + strings.Join(differ, " and ") + " differs"
}

// Compacted records a compaction entry's content for the walk.
func (r *ChainRows) Compacted(content string) {
	f := fields(content)
	if len(f) != 3 {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, f[2]); err == nil && t.After(r.compacted) {
		r.compacted = t
	}
}
