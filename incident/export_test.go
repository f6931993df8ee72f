package incident

import "context"

// InWriter runs fn in the writer's goroutine, for tests: what fn hands to
// Observe is all queued before the writer takes any of it, as the results
// of probes that end at the same instant would be.
func InWriter(ctx context.Context, e *Engine, fn func()) error {
	return e.do(ctx, func() error {
		fn()
		return nil
	})
}
