package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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
type Dispatcher struct {
	// Spool holds reports until every sink acknowledged them. Required.
	Spool *Spool
	// Sinks are tried in order for each report.
	Sinks []Sink
	// Deadline bounds one Deliver when ctx has no earlier deadline; 0
	// means DefaultDeadline. What is not delivered by then stays spooled.
	Deadline time.Duration
	// MinBackoff and MaxBackoff bound the waits between retries of a sink
	// (exponential, full jitter); 0 means the defaults. A Retry-After from
	// the receiver wins over both.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives one line per failed sink; nil discards.
	Logger *slog.Logger
	// OnDelivered, when set, is called after each sink's attempt at a
	// report (retries included) with its result and duration: for metrics.
	OnDelivered func(sink string, err error, took time.Duration)

	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Outcome is what one delivery achieved.
type Outcome struct {
	// Entry is the spool entry; after a full delivery it is removed.
	Entry *Entry
	// Acked lists the sinks that acknowledged the report, in this or an
	// earlier delivery.
	Acked []string
	// Failed maps each sink that did not acknowledge to its last error.
	Failed map[string]error
}

// Complete reports whether every sink acknowledged.
func (o *Outcome) Complete() bool { return len(o.Failed) == 0 }

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Deliver spools r durably and then sends it to every sink until all
// acknowledged or the deadline passed. The error is non-nil only when the
// report could not be spooled; sink failures are in the Outcome.
func (d *Dispatcher) Deliver(ctx context.Context, r *report.Report) (*Outcome, error) {
	e, err := d.Spool.Put(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	return d.deliver(ctx, e), nil
}

func (d *Dispatcher) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl := d.Deadline
	if dl <= 0 {
		dl = DefaultDeadline
	}
	return context.WithTimeout(ctx, dl)
}

// deliver sends e to the sinks that have not acknowledged it.
func (d *Dispatcher) deliver(ctx context.Context, e *Entry) *Outcome {
	out := &Outcome{Entry: e, Failed: map[string]error{}}
	for _, s := range d.Sinks {
		if _, ok := e.Acked[s.Name()]; ok {
			out.Acked = append(out.Acked, s.Name())
			continue
		}
		start := time.Now()
		err := d.send(withReceipts(ctx, e.Receipts), s, e.Report)
		if d.OnDelivered != nil {
			d.OnDelivered(s.Name(), err, time.Since(start))
		}
		if err != nil {
			out.Failed[s.Name()] = err
			level := slog.LevelWarn
			msg := "report not delivered yet; it stays in the spool"
			if IsPermanent(err) {
				level = slog.LevelError
				msg = "report refused by the sink; fix the configuration and run prodwrap flush"
			}
			d.logger().Log(ctx, level, msg, "sink", s.Name(), "report", e.Report.ID, "err", err)
			continue
		}
		d.logger().Debug("sink acknowledged", "sink", s.Name(), "report", e.Report.ID)
		receipt := ""
		if rc, ok := s.(Receipter); ok {
			receipt = rc.Receipt(e.Report)
		}
		if err := d.Spool.Ack(e, s.Name(), receipt); err != nil {
			d.logger().Error("cannot record the acknowledgement; the sink may get the report again", "sink", s.Name(), "err", err)
		}
		out.Acked = append(out.Acked, s.Name())
	}
	if out.Complete() {
		if err := d.Spool.Remove(e); err != nil {
			d.logger().Error("delivered report stays in the spool", "report", e.Report.ID, "err", err)
		}
	} else {
		e.Attempts++
		if err := d.Spool.write(e); err != nil {
			d.logger().Error("cannot update the spool entry", "report", e.Report.ID, "err", err)
		}
	}
	return out
}

// send tries one sink until it acknowledges, fails permanently or ctx ends.
func (d *Dispatcher) send(ctx context.Context, s Sink, r *report.Report) error {
	minB, maxB := d.MinBackoff, d.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	sleep := d.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	for attempt := 0; ; attempt++ {
		err := notifySafely(ctx, s, r)
		if err == nil {
			return nil
		}
		if IsPermanent(err) {
			return err
		}
		wait := backoff(attempt, minB, maxB)
		if he, ok := errors.AsType[*HTTPError](err); ok && he.RetryAfter > 0 {
			wait = he.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err // waiting would pass the deadline
		}
		if serr := sleep(ctx, wait); serr != nil {
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FlushResult counts what a Flush did.
type FlushResult struct {
	Delivered int // entries fully delivered and removed
	Remaining int // entries still in the spool
	Errors    []error
}

// Flush delivers every spooled entry, oldest first, within the deadline.
func (d *Dispatcher) Flush(ctx context.Context) (*FlushResult, error) {
	entries, errs := d.Spool.List()
	res := &FlushResult{Errors: errs}
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	for _, s := range d.Sinks {
		if fs, ok := s.(interface{ FlushSummaries(context.Context) error }); ok {
			if err := fs.FlushSummaries(ctx); err != nil {
				d.logger().Warn("flood summary not delivered", "sink", s.Name(), "err", err)
			}
		}
	}
	for i, e := range entries {
		if ctx.Err() != nil {
			res.Remaining += len(entries) - i
			break
		}
		if d.deliver(ctx, e).Complete() {
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
	msg := c.Message
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
