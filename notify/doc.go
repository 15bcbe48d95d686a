// Package notify delivers reports: to the durable spool first, then to
// every configured sink (file, webhook, Sentry), with retries, and removes a
// spool entry only when every sink has acknowledged it.
//
// # Model
//
// A [Sink] is a [Notifier] with a stable name. A [Dispatcher] owns the
// delivery of one report or of the whole spool:
//
//  1. [Spool.Put] writes the report as a spool entry — a temporary file,
//     fsynced, renamed into place, the directory fsynced — before any sink
//     is tried. A crash of prodwrap from here on loses nothing.
//  2. Each sink not yet acknowledged is tried with exponential backoff and
//     full jitter, obeying Retry-After on 429 and 503, until the delivery
//     deadline. An acknowledgement (a 2xx, a file written) is recorded in the
//     entry at once, so a later run never sends to that sink again.
//  3. When all sinks have acknowledged, the entry is removed. What is left
//     is delivered by [Dispatcher.Flush]: `prodwrap flush`, or the next
//     start of prodwrap, in the background.
//
// A permanent failure (a 4xx other than 408 and 429: a bad DSN, a revoked
// token) is not retried in this delivery: it is logged once and the entry
// stays in the spool for a flush after the configuration is fixed.
//
// Sinks are tried in the order given; prodwrap puts Sentry before Slack, so
// that the Slack message can name the Sentry event. A sink never changes the
// report: what its acknowledgement carries for a later sink (the Sentry
// event id) is a [Receipts] entry, kept in the spool entry with the
// acknowledgement and handed to the later sinks with [ReceiptsFrom].
//
// # Spool layout
//
//	<dir>/pending/<id>.json   an Entry: the report and the sinks that acked it
//	<dir>/pending/.tmp-*      an entry being written (ignored, cleaned up)
//
// # Secrets
//
// Sinks' URLs and keys are secrets. Errors name a sink by its kind and
// host at most, never by its URL: net/http's *url.Error, which carries the
// whole URL, is unwrapped before it is returned.
package notify
