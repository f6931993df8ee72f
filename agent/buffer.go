package agent

import "sync"

// buffer holds the results not yet sent, oldest first, up to max of them:
// when it is full a new result pushes out the oldest, which is counted.
// Its ring grows as results come, so an agent that keeps up holds little.
type buffer struct {
	mu      sync.Mutex
	ring    []Result
	head, n int
	max     int
	dropped int64 // pushed out since the count was last taken
	// overflowing is set from the first result pushed out until results
	// are taken again: one overflow, told once.
	overflowing bool
	// ready is signalled when a result is added.
	ready chan struct{}
}

func newBuffer(size int) *buffer {
	return &buffer{max: max(size, 1), ready: make(chan struct{}, 1)}
}

// add appends r; it reports whether this began an overflow.
func (b *buffer) add(r Result) (began bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == len(b.ring) && len(b.ring) < b.max {
		grown := make([]Result, min(max(2*len(b.ring), 64), b.max))
		for i := range b.n {
			grown[i] = b.ring[(b.head+i)%len(b.ring)]
		}
		b.ring, b.head = grown, 0
	}
	if b.n == len(b.ring) {
		b.ring[b.head] = r // the oldest goes
		b.head = (b.head + 1) % len(b.ring)
		b.dropped++
		began = !b.overflowing
		b.overflowing = true
	} else {
		b.ring[(b.head+b.n)%len(b.ring)] = r
		b.n++
	}
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return began
}

// take removes up to n of the oldest results, and the count of those
// pushed out since the last take.
func (b *buffer) take(n int) ([]Result, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, b.n)
	out := make([]Result, n)
	for i := range n {
		j := (b.head + i) % len(b.ring)
		out[i], b.ring[j] = b.ring[j], Result{}
	}
	if n > 0 {
		b.head = (b.head + n) % len(b.ring)
		b.n -= n
		b.overflowing = false
	}
	dropped := b.dropped
	b.dropped = 0
	return out, dropped
}

// count is the number of results held and of those pushed out not yet
// taken.
func (b *buffer) count() (held int, dropped int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.dropped
}

// lose counts n results the server will never have (it refused their
// batch), to be reported with the next batch.
func (b *buffer) lose(n int) {
	b.mu.Lock()
	b.dropped += int64(n)
	b.mu.Unlock()
}
