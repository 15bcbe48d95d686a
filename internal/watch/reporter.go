package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/report"
)

// queueSize bounds the reports waiting for background delivery; past it a
// report is only spooled, and the next flush delivers it.
const queueSize = 64

// backlogWait bounds how long prodwrap waits, at exit, for the background
// flush of earlier runs' reports: a clean exit must not wait for a
// receiver that hangs. What it did not deliver stays in the spool.
const backlogWait = time.Second

// ReporterOptions are what a Reporter is built from.
type ReporterOptions struct {
	// Config is the effective configuration. Required.
	Config *config.Config
	// Env is prodwrap's environment; it names the default spool directory.
	Env []string
	// Log receives prodwrap's own log lines and the human summaries, whole
	// lines each (the watcher hands its LineGate's log side). Required.
	Log io.Writer
	// Terminal says Log is a terminal: text logs instead of JSON.
	Terminal bool
	// Metrics, when set, counts deliveries and spool size.
	Metrics *metrics.Metrics
	// OnReport, when set, is called with each new report before it is
	// spooled; a panic in it is logged and the report goes out as it was.
	OnReport func(*report.Report)
	// Wrap is the report's wrap field: "" for the prefix command,
	// "reexec" or "monitor" for selfwrap.
	Wrap string
	// ConfigErrors are the configuration's errors when prodwrap runs with
	// what was valid of it (config.Options.Lenient): each is logged once
	// by NewReporter and put in every report.
	ConfigErrors []string
	// Warnings are logged once by NewReporter (unknown PRODWRAP_*
	// variables, say).
	Warnings []string
}

// Reporter is prodwrap's one report pipeline, shared by the prefix command,
// `send`, `flush` and both selfwrap modes: it is built once from the
// configuration and holds the logger, the spool and sinks, and the
// metrics. New fills a report from what is known of an abnormal end and
// the configuration; Deliver delivers it in the foreground and Enqueue in
// the background; Close waits for the background work within the
// delivery deadline.
type Reporter struct {
	cfg      *config.Config
	logger   *slog.Logger
	deliv    *Delivery
	metrics  *metrics.Metrics
	summary  io.Writer
	onReport func(*report.Report)
	wrap     string
	cfgErrs  []string

	startOnce  sync.Once
	finishOnce sync.Once
	queue      chan *report.Report
	abort      context.Context
	cancel     context.CancelFunc
	worker     chan struct{} // closed when the background deliverer ended
	backlog    <-chan struct{}
	// afterDelivery, when set, is called after each report was delivered
	// or held for a later flush, with the Sentry event id when Sentry took
	// it: the watcher's announcer.
	afterDelivery func(rep *report.Report, eventID string)
	// healthQ queues Sentry sessions and check-ins (health.go); nil
	// without a DSN.
	healthQ *notify.Health
}

// NewReporter builds the pipeline. An error means no report could be
// delivered anywhere (a sink's configuration is unusable).
func NewReporter(o ReporterOptions) (*Reporter, error) {
	logger := NewLogger(o.Log, o.Config, o.Terminal)
	deliv, err := NewDelivery(o.Config, o.Env, logger)
	if err != nil {
		return nil, err
	}
	if m := o.Metrics; m != nil {
		deliv.Dispatcher.OnDelivered = func(sink string, err error, took time.Duration) {
			if errors.Is(err, notify.ErrRateLimited) {
				m.RateLimited(sink)
				return
			}
			m.Delivered(sink, err == nil, took)
			if errors.Is(err, notify.ErrInternal) {
				m.InternalError()
			}
		}
	}
	for _, e := range o.ConfigErrors {
		logger.Error("configuration error; running with what is valid and the file sink on", "err", e)
	}
	for _, w := range o.Warnings {
		logger.Warn(w)
	}
	abort, cancel := context.WithCancel(context.Background())
	return &Reporter{
		cfg: o.Config, logger: logger, deliv: deliv, metrics: o.Metrics,
		summary: o.Log, onReport: o.OnReport, wrap: o.Wrap, cfgErrs: o.ConfigErrors,
		abort: abort, cancel: cancel, healthQ: newHealthQueue(o.Config, deliv.Spool, logger),
	}, nil
}

// Logger is prodwrap's logger.
func (r *Reporter) Logger() *slog.Logger { return r.logger }

// SpoolDir is the spool's directory (supervise spills large dumps there).
func (r *Reporter) SpoolDir() string { return r.deliv.Spool.Dir() }

// New assembles the report of an abnormal end: in, with the service,
// environment and release of the configuration, the wrap, and the
// OnReport hook applied.
func (r *Reporter) New(in report.Input) *report.Report {
	in.Service = r.cfg.Service.Name
	in.Environment = r.cfg.Service.Environment
	in.Release = r.cfg.Service.Release
	rep := report.New(in)
	rep.Wrap = r.wrap
	rep.ConfigErrors = r.cfgErrs
	r.hook(rep)
	return rep
}

// hook hands rep to OnReport, when set; a panic there is logged.
func (r *Reporter) hook(rep *report.Report) {
	if r.onReport == nil {
		return
	}
	defer RecoverLogged(r.logger, r.metrics, "OnReport hook")
	r.onReport(rep)
}

// Deliver spools rep and delivers it now, within the delivery deadline
// (cut short when ctx ends), and writes the summary. It returns nil when
// the report could not even be spooled.
func (r *Reporter) Deliver(ctx context.Context, rep *report.Report) *notify.Outcome {
	out := r.deliv.Report(ctx, rep, r.summary)
	r.metrics.SetSpool(r.deliv.Pending())
	r.after(rep, out)
	return out
}

// hold spools rep for the next flush, without trying the sinks.
func (r *Reporter) hold(rep *report.Report) {
	r.deliv.Hold(rep, r.summary)
	r.after(rep, nil)
}

// after hands a delivered or held report to afterDelivery, when set; a
// panic there is logged.
func (r *Reporter) after(rep *report.Report, out *notify.Outcome) {
	if r.afterDelivery == nil {
		return
	}
	defer RecoverLogged(r.logger, r.metrics, "after delivery")
	r.afterDelivery(rep, SentryEventID(out))
}

// SentryEventID is the id of the event Sentry accepted in out, "" when
// Sentry did not take the report (or is not configured).
func SentryEventID(out *notify.Outcome) string {
	if out == nil || out.Entry == nil {
		return ""
	}
	return out.Entry.Receipts["sentry"]
}

// Enqueue hands rep to the background deliverer and returns at once: in a
// crash loop the next child starts while the last report is delivered.
// Reports are delivered in the order they were queued. When the queue is
// full the report is only spooled, for the next flush. Not after Finish.
func (r *Reporter) Enqueue(rep *report.Report) {
	r.startOnce.Do(r.startWorker)
	select {
	case r.queue <- rep:
	default:
		r.logger.Warn("delivery queue full; the report stays in the spool for the next flush", "report", rep.ID)
		r.hold(rep)
	}
}

func (r *Reporter) startWorker() {
	r.queue = make(chan *report.Report, queueSize)
	r.worker = make(chan struct{})
	go func() {
		defer close(r.worker)
		defer RecoverLogged(r.logger, r.metrics, "background delivery")
		for rep := range r.queue {
			if r.abort.Err() != nil {
				r.hold(rep)
				continue
			}
			r.Deliver(r.abort, rep)
		}
	}()
}

// FlushInBackground delivers what earlier runs left in the spool, beside
// the child; Close waits for it at most backlogWait.
func (r *Reporter) FlushInBackground() {
	r.backlog = r.deliv.FlushInBackground(r.metrics)
}

// Flush delivers what the spool holds, in the foreground.
func (r *Reporter) Flush(ctx context.Context) *notify.FlushResult {
	res := r.deliv.Flush(ctx)
	r.flushHealth(ctx, res)
	r.metrics.SetSpool(r.deliv.Pending())
	return res
}

// Finish ends the background delivery: it waits for the queued reports
// to be delivered, in order, until by (the zero time: the delivery
// deadline from now) — less when abort is closed first — then cuts
// delivery short and spools what was not even tried. Later calls return
// at once; Deliver still works after it.
func (r *Reporter) Finish(abort <-chan struct{}, by time.Time) {
	r.finishOnce.Do(func() {
		if r.worker == nil {
			return
		}
		if by.IsZero() {
			by = time.Now().Add(r.deadline())
		}
		close(r.queue)
		deadline := time.NewTimer(time.Until(by))
		defer deadline.Stop()
		select {
		case <-r.worker:
		case <-deadline.C:
			r.logger.Warn("delivery deadline passed; what is left stays in the spool")
		case <-abort:
			r.logger.Warn("delivery cut short by a second stop signal; what is left stays in the spool")
		}
		r.cancel()
		<-r.worker // every queued report is spooled by then
	})
}

// Close ends the background work: Finish, then a wait for the backlog
// flush of at most backlogWait.
func (r *Reporter) Close(abort <-chan struct{}, by time.Time) {
	defer r.cancel()
	r.Finish(abort, by)
	if r.backlog != nil {
		waitBounded(r.backlog, backlogWait)
	}
}

// CloseFloodWindows posts now the flood summaries that the sinks hold for
// service (Slack's crash-loop guard): prodwrap gave up, the loop is over.
func (r *Reporter) CloseFloodWindows(ctx context.Context, service string) {
	for _, s := range r.deliv.Dispatcher.Sinks {
		c, ok := s.(interface {
			CloseFloodWindows(context.Context, string) error
		})
		if !ok {
			continue
		}
		if err := c.CloseFloodWindows(ctx, service); err != nil {
			r.logger.Warn("flood summary not delivered", "sink", s.Name(), "err", err)
		}
	}
}

func (r *Reporter) deadline() time.Duration {
	if d := time.Duration(r.cfg.Delivery.Deadline); d > 0 {
		return d
	}
	return notify.DefaultDeadline
}

// GaveUp is the report that says prodwrap stopped restarting: a report of its
// own (the last crash, gave_up set), logged, so that a crash loop that
// ended is news, not silence.
func (r *Reporter) GaveUp(last *report.Report, restarts int, window time.Duration) *report.Report {
	rep := report.GaveUpReport(last, restarts, window)
	r.logger.Error("giving up: too many restarts", "restarts", restarts, "window", window.String(), "last_status", last.Exit.Code)
	return rep
}
