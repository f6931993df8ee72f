// Command storm sends a burst of messages through the real dispatcher,
// outbox and webhook notifier to a receiver that enforces Telegram's limits
// (per destination and in all) and answers 429 to anything faster, and
// reports whether all arrived, none twice, none refused, and how the time
// taken compares with the least the limits allow.
//
//	go run ./bench/storm -messages 1000 -destinations 300
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
	"github.com/hostwatch/hostwatch/notifier/webhook"
	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

func main() {
	messages := flag.Int("messages", 1000, "how many messages")
	destinations := flag.Int("destinations", 300, "how many destinations")
	global := flag.Int("global", 30, "messages a second in all")
	each := flag.Duration("each", time.Second, "the least time between two messages to one destination")
	viaTelegram := flag.Bool("telegram", false, "deliver through the Telegram notifier to the fake Bot API, with Telegram's limits")
	groups := flag.Int("groups", 30, "with -telegram: how many destinations are group chats (20 a minute)")
	flag.Parse()
	if *viaTelegram {
		stormTelegram(*messages, *destinations, *groups)
		return
	}

	receiver := webhooktest.New("")
	defer receiver.Close()
	receiver.LimitAll(*global, time.Second)
	receiver.LimitEach(1, *each, nil)

	ctx := context.Background()
	db, cleanup := tempStore(ctx)
	defer cleanup()

	var contacts []config.Contact
	for i := range *destinations {
		contacts = append(contacts, config.Contact{Name: fmt.Sprintf("owner%d", i), Webhook: fmt.Sprintf("%s/chat/%d", receiver.URL, i)})
	}
	d, err := notifier.NewDispatcher(notifier.DispatcherOptions{
		Outbox:    db,
		Notifiers: map[string]notifier.Notifier{"webhook": webhook.New(contacts, notifier.PlainRenderer(time.UTC), "hostwatch/bench")},
		Pacing: map[string]notifier.Pacing{"webhook": {
			Global:         notifier.Pace{N: *global, Per: time.Second},
			PerDestination: func(string) notifier.Pace { return notifier.Pace{N: 1, Per: *each} },
		}},
	})
	if err != nil {
		log.Fatal(err)
	}

	took := burst(ctx, db, d, *messages, *destinations,
		func(i int) string { return "webhook:" + contacts[i].Name },
		func() (int, time.Time) {
			ds := receiver.Deliveries()
			if len(ds) == 0 {
				return 0, time.Time{}
			}
			return len(ds), ds[len(ds)-1].At
		})
	ds := receiver.Deliveries()
	dups := 0
	for _, d := range ds {
		if d.Duplicate {
			dups++
		}
	}
	floor := max(time.Duration(*messages-1)*time.Second/time.Duration(*global), time.Duration(maxPerDestination(*messages, *destinations)-1)**each)
	report(fmt.Sprintf("storm: %d messages to %d destinations, limits %d/s in all and 1 per %v per destination",
		*messages, *destinations, *global, *each), *messages, len(ds), dups, receiver.Limited(), took, floor)
}

// stormTelegram is the same storm through the Telegram notifier against
// the fake Bot API enforcing Telegram's limits.
func stormTelegram(messages, destinations, groups int) {
	const token = "1:storm"
	api := telegramtest.New(token)
	defer api.Close()
	api.EnforceLimits()
	ctx := context.Background()
	db, cleanup := tempStore(ctx)
	defer cleanup()
	d, err := notifier.NewDispatcher(notifier.DispatcherOptions{
		Outbox:    db,
		Notifiers: map[string]notifier.Notifier{"telegram": telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))},
		Pacing: map[string]notifier.Pacing{"telegram": notifier.TelegramPacing(
			notifier.Pace{N: 30, Per: time.Second}, notifier.Pace{N: 1, Per: time.Second}, notifier.Pace{N: 20, Per: time.Minute})},
	})
	if err != nil {
		log.Fatal(err)
	}
	chat := func(i int) int64 {
		if i < groups {
			return -1000000 - int64(i)
		}
		return 1000 + int64(i)
	}
	delivered := func() (n int, last time.Time) {
		for i := range destinations {
			n += len(api.Messages(chat(i)))
		}
		for _, c := range api.Calls("sendMessage") {
			if c.Status == 200 && c.At.After(last) {
				last = c.At
			}
		}
		return n, last
	}
	took := burst(ctx, db, d, messages, destinations, func(i int) string { return fmt.Sprintf("telegram:%d", chat(i)) }, delivered)
	n, _ := delivered()
	// Groups take 20 a minute, one every 3 s; private chats one a second.
	floor := time.Duration(messages-1) * time.Second / 30
	for i := range min(destinations, messages) {
		per := time.Second
		if chat(i) < 0 {
			per = 3 * time.Second
		}
		k := messages / destinations
		if i < messages%destinations {
			k++
		}
		floor = max(floor, time.Duration(k-1)*per)
	}
	report(fmt.Sprintf("storm through Telegram: %d messages to %d chats (%d of them groups), limits 30/s in all, 1/s per chat, 20/min per group",
		messages, destinations, groups), messages, n, max(n-messages, 0), api.Limited(), took, floor)
}

// burst writes messages to destinations dest(0), dest(1), ... in turn, in
// one transaction, as when a provider outage opens many incidents at once;
// runs d until delivered counts them all; and returns the time from the
// write to the last delivery.
func burst(ctx context.Context, db *sqlite.DB, d *notifier.Dispatcher, messages, destinations int,
	dest func(int) string, delivered func() (int, time.Time)) time.Duration {
	var items []store.OutboxItem
	for i := range messages {
		m := notifier.Message{Kind: notifier.Down, Incident: int64(i + 1), Check: fmt.Sprintf("shop%d/web", i%destinations), Start: time.Now()}
		payload, _ := json.Marshal(m)
		items = append(items, store.OutboxItem{CreatedAt: time.Now(), Destination: dest(i % destinations), Incident: int64(i + 1), Op: "send", Payload: payload})
	}
	begin := time.Now()
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, items) }); err != nil {
		log.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	for {
		n, last := delivered()
		if n >= messages {
			return last.Sub(begin)
		}
		if time.Since(begin) > 10*time.Minute {
			log.Fatalf("only %d of %d delivered after 10 minutes", n, messages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// maxPerDestination is how many of messages, dealt in turn, the busiest of
// destinations gets.
func maxPerDestination(messages, destinations int) int {
	return (messages + destinations - 1) / destinations
}

// report prints a storm's figures: got counts every accepted delivery,
// dups those among them seen before.
func report(title string, messages, got, dups, limited int, took, floor time.Duration) {
	fmt.Println(title)
	fmt.Printf("  delivered          %d, lost %d, duplicates %d\n", got-dups, max(messages-(got-dups), 0), dups)
	fmt.Printf("  429s provoked      %d\n", limited)
	fmt.Printf("  time               %v\n", took.Round(time.Millisecond))
	fmt.Printf("  least the limits allow %v\n", floor.Round(time.Millisecond))
	fmt.Printf("  ratio              %.3f\n", took.Seconds()/floor.Seconds())
}

// tempStore is a fresh store in a temporary directory, and how to remove it.
func tempStore(ctx context.Context) (*sqlite.DB, func()) {
	dir, err := os.MkdirTemp("", "storm")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "h.db"))
	if err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}
