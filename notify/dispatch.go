package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// Defaults of the Dispatcher's fields.
const (
	DefaultDeadline   = 10 * time.Second
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Dispatcher delivers reports through the spool to the sinks.
//
// A Dispatcher is safe for concurrent use by several goroutines once its
// fields are set (they must not change afterwards): a Deliver and a Flush,
// or several Flushes, may run at once — the watcher delivers a report in
// the background beside the flush of earlier ones. An entry is delivered
// only under its claim (see the package documentation), so two of them
// never send one entry to a sink twice. The sinks and OnDelivered are then
// called from several goroutines at once.
type Dispatcher struct {
	// Spool holds reports until every sink acknowledged them. When nil,
	// or when it cannot take a report, Deliver sends the report from
	// memory and Flush has nothing to do.
	Spool *Spool
	// Sinks are tried in order for each report.
	Sinks []Sink
	// Deadline bounds one Deliver or Flush when ctx has no earlier
	// deadline; 0 means DefaultDeadline. What is not delivered by then
	// stays spooled. It bounds the real time spent (a receiver that hangs)
	// and the waits on Clock (backoffs, rate limits).
	Deadline time.Duration
	// MinBackoff and MaxBackoff bound the waits between retries of a sink
	// (exponential, full jitter); 0 means the defaults. A Retry-After from
	// the receiver wins over both.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives one line per failed sink; nil discards.
	Logger *slog.Logger
	// OnDelivered, when set, is called after each sink's attempt at a
	// report (retries included) with its result and duration: for metrics.
	// A sink not tried because of its rate limit is reported with an error
	// wrapping ErrRateLimited.
	OnDelivered func(sink string, err error, took time.Duration)
	// Clock is the time of backoffs, rate limits and Deadline's waits;
	// nil is the real clock.
	Clock Clock
}

// Outcome is what one delivery achieved.
type Outcome struct {
	// Entry is the spool entry; after a full delivery it is removed. Its
	// Path is "" when the report could not be spooled.
	Entry *Entry
	// Spooled is false when the report could not be written to the
	// spool (Deliver's error says why) and was sent from memory only:
	// what a sink did not acknowledge now is not retried later.
	Spooled bool
	// Acked lists the sinks that acknowledged the report, in this or an
	// earlier delivery.
	Acked []string
	// Failed maps each sink that did not acknowledge to its last error.
	Failed map[string]error
	// SpoolErrors are what this delivery could not record in the spool:
	// an acknowledgement (this process will not send that sink the report
	// again, a later one may), the entry's removal.
	SpoolErrors []error
}

// Complete reports whether every sink acknowledged.
func (o *Outcome) Complete() bool { return len(o.Failed) == 0 }

// ErrNotSpooled marks Deliver's error when the report could not be
// written to the spool; it was still sent to every sink from memory.
var ErrNotSpooled = errors.New("notify: report not spooled")

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Deliver spools r durably and then sends it to every sink until all
// acknowledged or the deadline passed; sink failures are in the Outcome.
// When r cannot be spooled, it is sent to every sink from memory all the
// same: the Outcome says what was delivered (Spooled is false) and the
// error, wrapping ErrNotSpooled, why it was not spooled. The Outcome is
// never nil.
func (d *Dispatcher) Deliver(ctx context.Context, r *report.Report) (*Outcome, error) {
	ctx, cancel, until := d.withDeadline(ctx)
	defer cancel()
	var e *Entry
	var err error
	if d.Spool == nil {
		err = errNoSpool
	} else {
		e, err = d.Spool.putClaimed(r)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrNotSpooled, err)
		d.logger().Error("cannot spool the report; sending it to every sink from memory, without retries after this delivery", "report", r.ID, "err", err)
		return d.deliver(ctx, until, &Entry{Report: r, Acked: map[string]time.Time{}, Spooled: time.Now().UTC()}), err
	}
	defer d.Spool.Release(e)
	return d.deliver(ctx, until, e), nil
}

func (d *Dispatcher) clock() Clock { return orReal(d.Clock) }

// withDeadline bounds ctx by Deadline, and returns the time on the Clock
// past which no wait may end.
func (d *Dispatcher) withDeadline(ctx context.Context) (context.Context, context.CancelFunc, time.Time) {
	dl := d.Deadline
	if dl <= 0 {
		dl = DefaultDeadline
	}
	ctx, cancel := context.WithTimeout(ctx, dl)
	return ctx, cancel, d.clock().Now().Add(dl)
}

// deliver sends e to the sinks that have not acknowledged it. e is
// claimed, or held in memory only.
func (d *Dispatcher) deliver(ctx context.Context, until time.Time, e *Entry) *Outcome {
	out := &Outcome{Entry: e, Failed: map[string]error{}, Spooled: e.path != ""}
	var unrecorded []error // acknowledgements the spool could not record
	var last *ack          // the one left to the removal
	for i, s := range d.Sinks {
		if _, ok := e.Acked[s.Name()]; ok {
			out.Acked = append(out.Acked, s.Name())
			continue
		}
		start := time.Now()
		err := d.send(withReceipts(ctx, e.Receipts), until, s, e.Report)
		if d.OnDelivered != nil {
			d.OnDelivered(s.Name(), err, time.Since(start))
		}
		if err != nil {
			out.Failed[s.Name()] = err
			level := slog.LevelWarn
			msg := "report not delivered yet; it stays in the spool"
			switch {
			case !out.Spooled:
				level, msg = slog.LevelError, "report not delivered, and not spooled: it is lost for this sink"
			case IsPermanent(err):
				level, msg = slog.LevelError, "report refused by the sink; fix the configuration and run prodwrap flush"
			}
			d.logger().Log(ctx, level, msg, "sink", s.Name(), "report", e.Report.ID, "err", err)
			continue
		}
		d.logger().Debug("sink acknowledged", "sink", s.Name(), "report", e.Report.ID)
		receipt := ""
		if rc, ok := s.(Receipter); ok {
			receipt = rc.Receipt(e.Report)
		}
		switch {
		case !out.Spooled:
			noteAck(e, s.Name(), receipt)
		case i == len(d.Sinks)-1 && len(out.Failed) == 0:
			// The last acknowledgement is recorded by the removal below:
			// one write and its fsyncs fewer, the same window.
			noteAck(e, s.Name(), receipt)
			last = &ack{receipt: receipt, sink: s.Name()}
		default:
			if err := d.Spool.Ack(e, s.Name(), receipt); err != nil {
				unrecorded = append(unrecorded, err)
			}
		}
		out.Acked = append(out.Acked, s.Name())
	}
	if !out.Spooled {
		return out
	}
	if out.Complete() {
		// Removing the entry records every acknowledgement at once: when
		// it works, the ones that could not be written do not matter.
		if err := d.Spool.Remove(e); err != nil {
			if last != nil {
				if aerr := d.Spool.Ack(e, last.sink, last.receipt); aerr != nil {
					unrecorded = append(unrecorded, aerr)
				}
			}
			err = fmt.Errorf("report %s was delivered to every sink, but the spool cannot record it (a later run may send it again): %w", e.Report.ID, errors.Join(append(unrecorded, err)...))
			out.SpoolErrors = append(out.SpoolErrors, err)
			d.logger().Error("delivered report stays in the spool", "report", e.Report.ID, "err", err)
		}
		return out
	}
	for _, err := range unrecorded {
		out.SpoolErrors = append(out.SpoolErrors, err)
		d.logger().Error("cannot record the acknowledgement; a later run may send the report to the sink again", "report", e.Report.ID, "err", err)
	}
	e.Attempts++
	if len(unrecorded) == 0 { // else it would fail the same way
		if err := d.Spool.write(e); err != nil {
			d.logger().Warn("cannot count the attempt in the spool entry", "report", e.Report.ID, "err", err)
		}
	}
	return out
}

// send tries one sink until it acknowledges, fails permanently, or the
// next wait would end past until or the deadline. Before each attempt it
// waits out the sink's known rate limit; one that ends too late is an
// error wrapping ErrRateLimited, with no request sent.
func (d *Dispatcher) send(ctx context.Context, until time.Time, s Sink, r *report.Report) error {
	minB, maxB := d.MinBackoff, d.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	clock := d.clock()
	name, limited := s.Name(), limitName(s)
	note := func(wait time.Duration) {
		now := clock.Now()
		if err := d.Spool.noteLimit(limited, now.Add(wait), now); err != nil {
			d.logger().Warn("cannot record the rate limit in the spool; this process keeps it", "sink", name, "err", err)
		}
	}
	ctx = withLimitNoter(ctx, note)
	fits := func(wait time.Duration) bool {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return false
		}
		return !clock.Now().Add(wait).After(until)
	}
	for attempt := 0; ; attempt++ {
		if lim := d.Spool.limitedUntil(limited, clock.Now()); !lim.IsZero() {
			wait := lim.Sub(clock.Now())
			err := fmt.Errorf("%s: %w until %s, past the deadline: not sent", name, ErrRateLimited, lim.UTC().Format(time.RFC3339))
			if !fits(wait) || clock.Sleep(ctx, wait) != nil {
				return err
			}
		}
		err := notifySafely(ctx, s, r)
		if err == nil {
			return nil
		}
		he, isHTTP := errors.AsType[*HTTPError](err)
		if isHTTP && he.Status == http.StatusTooManyRequests && he.RetryAfter > 0 {
			note(he.RetryAfter) // a sink's own default (Sentry's 60 s) included
		}
		if IsPermanent(err) {
			return err
		}
		wait := backoff(attempt, minB, maxB)
		if isHTTP && he.RetryAfter > 0 {
			wait = he.RetryAfter
		}
		if !fits(wait) {
			return err // waiting would pass the deadline
		}
		if clock.Sleep(ctx, wait) != nil {
			return err
		}
	}
}

// notifySafely calls s.Notify, turning a panic of the sink (a bug of
// ours) into an error so that one sink cannot take the others down.
func notifySafely(ctx context.Context, s Sink, r *report.Report) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: %w: %v\n%s", s.Name(), ErrInternal, v, debug.Stack())
		}
	}()
	return s.Notify(ctx, r)
}

// backoff is exponential with full jitter: uniform in [0, min·2^attempt],
// capped at max, never below min/2.
func backoff(attempt int, minB, maxB time.Duration) time.Duration {
	ceil := minB << min(attempt, 20)
	if ceil > maxB || ceil <= 0 {
		ceil = maxB
	}
	return max(time.Duration(rand.Int64N(int64(ceil)+1)), minB/2)
}

// FlushResult counts what a Flush did.
type FlushResult struct {
	Delivered int // entries fully delivered and removed
	// Remaining counts the entries still in the spool: not delivered to
	// every sink, claimed by another delivery (Busy), or delivered but
	// not recorded as such (see Errors).
	Remaining int
	// Busy counts the entries skipped because another process or
	// goroutine held their claim.
	Busy int
	// Errors lists entries quarantined or unreadable (one line each, to
	// log once) and what could not be recorded in the spool.
	Errors []error
}

// Flush delivers every spooled entry it can claim, the least recently
// written first (a retried entry goes after the new ones), within
// the deadline; entries claimed by another delivery are skipped (counted
// in Busy and Remaining). The error is always nil; what went wrong with
// single entries is in the result.
func (d *Dispatcher) Flush(ctx context.Context) (*FlushResult, error) {
	res := &FlushResult{}
	if d.Spool == nil {
		return res, nil
	}
	paths, err := d.Spool.scan()
	if err != nil {
		res.Errors = append(res.Errors, err)
		return res, nil
	}
	ctx, cancel, until := d.withDeadline(ctx)
	defer cancel()
	for _, s := range d.Sinks {
		if fl, ok := s.(interface{ FlushSummaries(context.Context) error }); ok {
			if err := fl.FlushSummaries(ctx); err != nil {
				d.logger().Warn("flood summary not delivered", "sink", s.Name(), "err", err)
			}
		}
	}
	for i, path := range paths {
		if ctx.Err() != nil {
			res.Remaining += len(paths) - i
			break
		}
		e, err := d.Spool.claim(path)
		var quarantined *quarantinedError
		switch {
		case errors.Is(err, errBusy):
			res.Busy++
			res.Remaining++
			continue
		case errors.Is(err, fs.ErrNotExist):
			continue // delivered by another since it was listed
		case errors.As(err, &quarantined):
			res.Errors = append(res.Errors, err)
			continue
		case err != nil:
			res.Remaining++
			res.Errors = append(res.Errors, fmt.Errorf("spool entry %s: %w", filepath.Base(path), err))
			continue
		}
		out := d.deliver(ctx, until, e)
		d.Spool.Release(e)
		res.Errors = append(res.Errors, out.SpoolErrors...)
		if out.Complete() && len(out.SpoolErrors) == 0 {
			res.Delivered++
		} else {
			res.Remaining++
		}
	}
	return res, nil
}

// WriteSummary writes the short human summary prodwrap prints after the
// child's last byte: kind, message, culprit file:line, where the report is.
func WriteSummary(w io.Writer, r *report.Report, where string) error {
	c := r.Crash
	msg := c.Headline()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	line := fmt.Sprintf("prodwrap: %s crashed (%s): %s", r.Service, c.Kind, firstLine(msg))
	if c.Culprit != nil {
		line += fmt.Sprintf(" at %s (%s:%d)", c.Culprit.Function, c.Culprit.File, c.Culprit.Line)
	}
	_, err := fmt.Fprintf(w, "%s\nprodwrap: report %s\n", line, where)
	return err
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
