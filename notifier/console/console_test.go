package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
)

func TestOneLinePerMessage(t *testing.T) {
	var b strings.Builder
	c := New(&b, notifier.PlainRenderer(time.UTC))
	start := time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)
	ctx := context.Background()
	c.Send(ctx, "", notifier.Message{Kind: notifier.Down, Incident: 1, Check: "kim-shop/web", Start: start, Error: "status 502,\nwant 2xx"})
	c.Send(ctx, "", notifier.Message{Kind: notifier.Resolved, Incident: 1, Check: "kim-shop/web", Start: start, End: start.Add(192 * time.Minute)})
	want := "DOWN kim-shop/web is down: Incident #1, down since Wed Nov 25 14:02:10 UTC; Error: status 502, want 2xx\n" +
		"UP kim-shop/web is back: Incident #1 resolved: 14:02–17:14, down 3h12m\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
