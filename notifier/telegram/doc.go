// Package telegram delivers messages to Telegram chats through the Bot API
// (go-telegram-bot-api), as HTML with the alert buttons Acknowledge and
// Silence 1h, and edits them in place when the incident changes. Telegram's
// errors are classified for the dispatcher: 429 waits retry_after, 403 (the
// bot was blocked) and "chat not found" are final, an edit that changes
// nothing is a success.
package telegram
