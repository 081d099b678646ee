// Package alert is what happens to a run-time alert after a rule fires:
// repeats of one (type, resource) within a window are aggregated into one
// alert (Aggregator), and alerts are delivered to outputs (Sink): JSON lines,
// an HTTP webhook with a bounded on-disk queue, and RFC 5424 syslog.
package alert
