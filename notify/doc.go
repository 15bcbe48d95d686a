// Package notify delivers reports: to the durable spool first, then to
// every configured sink (file, webhook, Sentry, Slack), with retries, and
// removes a spool entry only when every sink has acknowledged it.
//
// # Model
//
// A [Sink] is a [Notifier] with a stable name. A [Dispatcher] owns the
// delivery of one report or of the whole spool:
//
//  1. [Dispatcher.Deliver] writes the report as a spool entry — a temporary
//     file, fsynced, renamed into place, the directory fsynced — before any
//     sink is tried, holding its claim (see Claims). A crash of prodwrap
//     from here on loses nothing. When the entry cannot be written (a full
//     or read-only disk, no spool at all), [Dispatcher.Deliver] sends the
//     report to every sink from memory all the same, and says so: the
//     [Outcome]'s Spooled is false and its error wraps [ErrNotSpooled].
//  2. Each sink not yet acknowledged is tried with exponential backoff and
//     full jitter, obeying Retry-After on 429 and 503, until the delivery
//     deadline. An acknowledgement (a 2xx, a file written) is recorded in the
//     entry at once, so a later run never sends to that sink again.
//  3. When all sinks have acknowledged, the entry is removed. What is left
//     is delivered by [Dispatcher.Flush]: `prodwrap flush`, or the next
//     start of prodwrap, in the background.
//
// A permanent failure (a redirect, a 4xx other than 408 and 429: a bad
// DSN, a revoked token) is not retried in this delivery: it is logged once
// and the entry stays in the spool for a flush after the configuration is
// fixed.
//
// Sinks are tried in the order given; prodwrap puts Sentry before Slack, so
// that the Slack message can name the Sentry event. A sink never changes the
// report: what its acknowledgement carries for a later sink (the Sentry
// event id) is a [Receipts] entry, kept in the spool entry with the
// acknowledgement and handed to the later sinks with [ReceiptsFrom].
//
// Time — backoffs, rate limits, flood windows — is read from a [Clock]
// (Dispatcher.Clock, Flood.Clock), the real one when nil.
//
// # Claims
//
// Many prodwrap processes share one spool (by default every service of a
// host), and every start flushes it. An entry is delivered only by the
// process that holds its claim: an exclusive, non-blocking flock(2) on
// the lock file beside it, pending/<id>.lock. Deliver takes the claim
// before the entry appears ([Spool.Put] gives it back at once, leaving the
// entry to a flush); Flush tries each entry's claim and skips the entry
// when someone else holds it (counted in FlushResult.Busy); having the
// claim, it reads the entry again, so it sees the acknowledgements of the
// delivery that held it before. The kernel drops a claim when the file is
// closed or its process dies, however it dies, so the claim of a killed
// prodwrap is free at once; nothing waits for a timeout. The lock is on an
// open file description, so goroutines of one process exclude each other
// as processes do.
//
// A lock file is never on the entry itself, because an entry is rewritten
// by renaming a new file over it. The lock file is removed with the entry,
// by the claim's holder; a claim counts only when the lock is on the file
// that is at the lock's path at that moment (compared by inode), so one
// who opened a lock file just before it was removed cannot think it holds
// a claim. Lock files and temporary files left by a process that died
// between two steps are removed by a later listing.
//
// Delivery is at least once, and exactly once but in one window: between a
// sink's 2xx and the write of that acknowledgement into the entry (a
// rename and two fsyncs, milliseconds; for the last sink, the entry's
// removal and one fsync). A prodwrap killed there, or a spool
// that cannot record the acknowledgement, has the next process send that
// sink the report again. Sentry drops the second copy (the event id is the
// report's); a webhook sees the report's id twice. The same process never
// sends it again: an acknowledgement it could not record is kept in memory
// ([Spool.Ack]'s error says so, and Flush counts the entry as Remaining,
// with the error).
//
// # Trust
//
// The spool trusts nothing it finds. Entries are opened with O_NOFOLLOW
// and O_NONBLOCK (a symbolic link, a FIFO, a device neither is followed nor
// blocks), must be regular files of at most [MaxEntrySize], must parse,
// and must hold a report with an id and a crash. What is not is moved to
// quarantine/ once, returned by [Spool.List] (and in FlushResult.Errors) as
// one error to log, and never retried; quarantine/ keeps at most
// [DefaultQuarantineFiles] files and [DefaultQuarantineBytes] of disk
// (Spool.MaxQuarantineFiles, MaxQuarantineBytes), the oldest removed
// first. pending/ and quarantine/ must be directories, not links. A
// fallback spool, taken when the configured one cannot be used, is opened
// with [OpenOwnedSpool]: created with mode 0700, and refused unless it is
// a directory of the effective user that group and others cannot write.
//
// # Rate limits
//
// The rate limits a receiver announces — X-Sentry-Rate-Limits on any
// answer, a 2xx included (for the error category or all), and Retry-After
// on a 429 (Sentry's: 60 s when it does not say) — are kept in the spool's
// state, ratelimits.json beside pending/, so they hold across reports,
// restarts and the processes sharing the spool. They are kept per
// receiver: the sink's name and a hash of its URL and key, so that two
// services' sinks of one name do not share a limit, and the file holds
// no secret. Before each request the
// Dispatcher consults them: a limit that ends within the deadline is
// waited out, a longer one leaves the report in the spool, not sent, with
// an error wrapping [ErrRateLimited].
//
// # Spool layout
//
//	<dir>/pending/<id>.json    an Entry: the report and the sinks that acked it
//	<dir>/pending/<id>.lock    its claim (flock)
//	<dir>/pending/.tmp-*       an entry being written (ignored, cleaned up)
//	<dir>/quarantine/          what pending/ held that is not an entry
//	<dir>/ratelimits.json      the receivers' rate limits (and .lock)
//	<dir>/flood.json           Slack's flood-control windows (and .lock)
//
// # Sentry and Slack
//
// The Sentry event is sentry-go's sentry.Event, built as sentry-go's
// Recover builds it (frames, release, environment, contexts, modules; no
// fingerprint unless asked), so that prodwrap's events and a service's own
// sentry-go events read and group alike; its envelope is sentry-go's items.
// Slack messages are slack-go's Block Kit types, posted with slack-go. Both
// are sent with prodwrap's HTTP client (no redirects), and every failure is
// returned as this package's errors (an *HTTPError with its RetryAfter for a
// rate limit, ErrPermanent for what no retry fixes), which sentry-go's
// transports would drop. docs/sentry.md has the field-by-field account.
//
// # Secrets
//
// Sinks' URLs, keys and header values are secrets. Redirects are never
// followed, so a request and its credentials go to the configured host
// only. Errors name a sink by its kind, never by its URL: net/http's
// *url.Error, which carries the whole URL, is unwrapped before it is
// returned; a receiver's error body is cut to its start and the request's
// secrets (the URL and its parts, every header value, the tokens in them)
// are masked in it, as they are also when escaped; a redirect's Location
// is shown by scheme and host only.
package notify
