package agent

import (
	"strconv"
	"testing"
)

func numbered(i int) Result { return Result{Check: strconv.Itoa(i)} }

func checksOf(rs []Result) string {
	s := ""
	for _, r := range rs {
		s += r.Check + " "
	}
	return s
}

// TestBufferOverflow: a full buffer drops the oldest, counts them, and
// says once that it began to.
func TestBufferOverflow(t *testing.T) {
	b := newBuffer(3)
	var began []int
	for i := 1; i <= 6; i++ {
		if b.add(numbered(i)) {
			began = append(began, i)
		}
	}
	rs, dropped := b.take(10)
	if checksOf(rs) != "4 5 6 " || dropped != 3 {
		t.Errorf("took %s, dropped %d; want 4 5 6, dropped 3", checksOf(rs), dropped)
	}
	if len(began) != 1 || began[0] != 4 {
		t.Errorf("overflow began at %v, want at 4 alone", began)
	}
	if _, dropped := b.take(10); dropped != 0 {
		t.Errorf("the count was taken twice: %d", dropped)
	}
	for i := 7; i <= 10; i++ {
		if b.add(numbered(i)) != (i == 10) {
			t.Errorf("result %d: a new overflow told wrongly", i)
		}
	}
	b.lose(5)
	if rs, dropped := b.take(2); checksOf(rs) != "8 9 " || dropped != 6 {
		t.Errorf("took %s, dropped %d; want 8 9, dropped 1 pushed out and 5 lost", checksOf(rs), dropped)
	}
}

// TestBufferOrder: results come out in the order they went in as the ring
// grows and wraps.
func TestBufferOrder(t *testing.T) {
	b := newBuffer(1000)
	next, want := 0, 0
	for _, step := range []struct{ add, take int }{{70, 50}, {60, 10}, {500, 300}, {100, 370}} {
		for range step.add {
			b.add(numbered(next))
			next++
		}
		rs, dropped := b.take(step.take)
		if dropped != 0 || len(rs) != step.take {
			t.Fatalf("took %d, dropped %d", len(rs), dropped)
		}
		for _, r := range rs {
			if r.Check != strconv.Itoa(want) {
				t.Fatalf("took %s, want %d", r.Check, want)
			}
			want++
		}
	}
	if held, _ := b.count(); held != 0 {
		t.Errorf("%d left", held)
	}
}
