package console

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/hostwatch/hostwatch/notifier"
)

// Console writes one line per message.
type Console struct {
	mu     sync.Mutex
	w      io.Writer
	render *notifier.Renderer
}

// New returns a Console writing to w the words of r.
func New(w io.Writer, r *notifier.Renderer) *Console {
	return &Console{w: w, render: r}
}

// Send prints m; the console has one address, and no message ids.
func (c *Console) Send(_ context.Context, _ string, m notifier.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintln(c.w, c.render.Line(m)); err != nil {
		return "", fmt.Errorf("print to console: %w", err)
	}
	return "", nil
}
