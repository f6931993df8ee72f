package slack

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// SocketMode receives the same commands and button presses over Slack's
// Socket Mode (a websocket the daemon opens with the app-level token), for
// installations with no public URL. Each request is acknowledged at once
// and answered on its response_url, as over HTTP. It returns when ctx ends.
func (in *Inbound) SocketMode(ctx context.Context, botToken, appToken, apiURL string) error {
	api := slack.New(botToken, slack.OptionAPIURL(apiURL), slack.OptionAppLevelToken(appToken))
	client := socketmode.New(api)
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	wait := time.Second
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case err := <-done:
			// A refused token or a lost connection: keep trying, so that
			// commands work again once Slack or the token is back.
			in.log.Warn("slack: socket mode stopped; reconnecting", "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
			wait = min(2*wait, 5*time.Minute)
			go func() { done <- client.RunContext(ctx) }()
		case evt := <-client.Events:
			switch evt.Type {
			case socketmode.EventTypeConnectionError:
				in.log.Warn("slack: socket mode connection failed; retrying", "err", evt.Data)
			case socketmode.EventTypeSlashCommand:
				cmd, ok := evt.Data.(slack.SlashCommand)
				if ok && evt.Request != nil {
					client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
					in.command(cmd.UserID, cmd.ChannelID, cmd.Text, cmd.ResponseURL)
				}
			case socketmode.EventTypeInteractive:
				ic, ok := evt.Data.(slack.InteractionCallback)
				if ok && evt.Request != nil {
					client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
					in.press(ic)
				}
			}
		}
	}
}
