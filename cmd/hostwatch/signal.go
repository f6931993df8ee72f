package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// notifyContext is cancelled by the first SIGINT or SIGTERM; a second one
// ends the process at once.
func notifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
			signal.Stop(sigs)
			return
		}
		<-sigs
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}
