package console

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
)

// Console writes one line per message.
type Console struct {
	mu  sync.Mutex
	w   io.Writer
	loc *time.Location
}

// New returns a Console writing to w with times in loc.
func New(w io.Writer, loc *time.Location) *Console {
	return &Console{w: w, loc: loc}
}

// Send prints m; the console has one address, and no message ids.
func (c *Console) Send(_ context.Context, _ string, m notifier.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintln(c.w, notifier.Line(m, c.loc)); err != nil {
		return "", fmt.Errorf("print to console: %w", err)
	}
	return "", nil
}
