// Package notify tells people about what the server newly found: a critical
// or high finding on a running image, a resource newly unhealthy for a
// recommendation, a new security alert. Each is an Event; a Dispatcher
// filters it per sink and hands it to that sink's queue — a generic JSON
// webhook or a Slack-compatible incoming webhook (both through
// internal/alert's durable disk queue and retrying delivery) or RFC 5424
// syslog — so Notify never waits for a receiver.
package notify
