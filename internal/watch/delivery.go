package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

// Delivery is the spool and the sinks of a configuration.
type Delivery struct {
	// Spool holds each report until every sink acknowledged it.
	Spool *notify.Spool
	// Dispatcher delivers to the sinks; set its OnDelivered to observe.
	Dispatcher *notify.Dispatcher
	file       *notify.File // nil when the file sink is off
	log        *slog.Logger
}

// NewDelivery opens the spool and builds the sinks. The child runs
// whatever happens to prodwrap's storage:
//
//   - a spool directory given explicitly (--spool, [spool] dir,
//     $PRODWRAP_SPOOL) that cannot be used is an error line naming it, and
//     reports go to the sinks straight from memory — prodwrap does not
//     write elsewhere than it was told;
//   - the implicit default that cannot be used falls back to a directory
//     of prodwrap's own under $TMPDIR (mode 0700, owned by the effective
//     user, refused otherwise: notify.OpenOwnedSpool), and failing that,
//     to delivery from memory.
func NewDelivery(cfg *config.Config, env []string, logger *slog.Logger) (*Delivery, error) {
	sp := openSpool(cfg, env, logger)
	d := &Delivery{Spool: sp, log: logger}
	spoolDir := ""
	if sp != nil {
		spoolDir = sp.Dir()
	}
	var sinks []notify.Sink
	var sentrySink *notify.Sentry
	if cfg.SourceOf("process.pass_secrets") != config.FromDefault {
		logger.Warn("process.pass_secrets is deprecated: the child keeps SENTRY_DSN, SENTRY_ENVIRONMENT and SENTRY_RELEASE anyway; list what it must not see in process.scrub_env")
	}
	if cfg.Sentry.DSN != "" {
		tags, err := notify.ParseTags(cfg.Sentry.Tags)
		if err != nil {
			return nil, fmt.Errorf("sentry.tags: %w", err)
		}
		release := cfg.Sentry.Release
		if release == "" {
			release = cfg.Service.Release
		}
		fp := cfg.Sentry.Fingerprint
		if fp == "sentry" {
			fp = ""
		}
		s, err := notify.NewSentry(notify.SentryOptions{
			DSN:         cfg.Sentry.DSN.Reveal(),
			Environment: cfg.Sentry.Environment,
			Release:     release,
			Getenv:      lookup(env),
			Tags:        tags,
			Fingerprint: fp,
		})
		if err != nil {
			return nil, fmt.Errorf("sentry: %w", err)
		}
		sentrySink = s
		sinks = append(sinks, s)
	}
	if cfg.Slack.WebhookURL != "" || cfg.Slack.Token != "" {
		var release func(*report.Report) string // the Sentry event's, so that both agree
		if sentrySink != nil {
			release = sentrySink.Release
		}
		s, err := notify.NewSlack(notify.SlackOptions{
			WebhookURL:   cfg.Slack.WebhookURL.Reveal(),
			Token:        cfg.Slack.Token.Reveal(),
			Channel:      cfg.Slack.Channel,
			APIURL:       cfg.Slack.APIURL,
			SentryWebURL: cfg.Sentry.WebURL,
			Environment:  cfg.Sentry.Environment,
			Release:      release,
			Flood:        flood(spoolDir, time.Duration(cfg.Delivery.FloodWindow)),
		})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	for i, w := range cfg.Webhooks {
		name := w.Name
		if name == "" {
			name = fmt.Sprint(i)
		}
		headers := map[string]string{}
		for k, v := range w.Headers {
			headers[k] = v.Reveal()
		}
		s, err := notify.NewWebhook(notify.WebhookOptions{Name: name, URL: w.URL.Reveal(), Headers: headers})
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", name, err)
		}
		sinks = append(sinks, s)
	}
	fileOn := len(sinks) == 0
	if cfg.File.Enabled != nil {
		fileOn = *cfg.File.Enabled
	}
	if fileOn {
		fdir := cfg.File.Dir
		switch {
		case fdir != "":
		case spoolDir != "":
			fdir = filepath.Join(spoolDir, "reports")
		default: // no spool: where the default spool would keep them
			fdir = filepath.Join(DefaultSpoolDir(lookup(env)), "reports")
		}
		f, err := notify.NewFile(fdir)
		switch {
		case err == nil:
			d.file = f
			sinks = append([]notify.Sink{f}, sinks...)
		case cfg.Strict:
			return nil, err
		case len(sinks) == 0:
			// The service comes first: it runs, and its crashes are at
			// least summarized on stderr.
			logger.Error("no sink can take reports: the file sink cannot be used; the child runs, its crashes only summarized on stderr", "err", err)
		default:
			logger.Error("the file sink cannot be used; reporting to the other sinks", "err", err)
		}
	}
	d.Dispatcher = &notify.Dispatcher{
		Spool:      sp,
		Sinks:      sinks,
		Deadline:   time.Duration(cfg.Delivery.Deadline),
		MinBackoff: time.Duration(cfg.Delivery.MinBackoff),
		MaxBackoff: time.Duration(cfg.Delivery.MaxBackoff),
		Logger:     logger,
	}
	return d, nil
}

// openSpool opens the spool NewDelivery says; nil means none can be used.
func openSpool(cfg *config.Config, env []string, logger *slog.Logger) *notify.Spool {
	if dir := cfg.Spool.Dir; dir != "" {
		sp, err := notify.OpenSpool(dir)
		if err != nil {
			logger.Error("cannot use the spool directory; reports go to the sinks from memory", "spool", dir, "err", err)
			return nil
		}
		return sp
	}
	dir := DefaultSpoolDir(lookup(env))
	sp, err := notify.OpenSpool(dir)
	if err == nil {
		return sp
	}
	fallback := filepath.Join(os.TempDir(), fmt.Sprintf("prodwrap-spool-%d", os.Geteuid()))
	logger.Error("cannot use the default spool directory; using a temporary one of prodwrap's own", "spool", dir, "err", err, "fallback", fallback)
	if sp, err = notify.OpenOwnedSpool(fallback); err != nil {
		logger.Error("cannot use the temporary spool directory either; reports go to the sinks from memory", "err", err)
		return nil
	}
	return sp
}

// flood is Slack's crash-loop guard, kept in the spool; none without one.
func flood(spoolDir string, window time.Duration) *notify.Flood {
	if spoolDir == "" {
		return nil
	}
	return &notify.Flood{Dir: spoolDir, Window: window}
}

// Report delivers rep and writes the human summary to w: where the report
// is (the file sink's file, else the spool entry, else the sinks that took
// it, or that it reached no sink and no spool).
func (d *Delivery) Report(ctx context.Context, rep *report.Report, w io.Writer) *notify.Outcome {
	out, err := d.Dispatcher.Deliver(ctx, rep)
	if err != nil && !errors.Is(err, notify.ErrNotSpooled) {
		d.log.Error("delivery failed", "report", rep.ID, "err", err)
	}
	if out == nil {
		return nil
	}
	var where string
	_, fileFailed := out.Failed["file"]
	switch {
	case d.file != nil && !fileFailed:
		where = d.file.Path(rep)
	case out.Complete():
		where = fmt.Sprintf("%s delivered to %v", rep.ID, out.Acked)
	case out.Spooled:
		where = out.Entry.Path() + " (spooled, not delivered yet)"
	case len(out.Acked) > 0:
		where = fmt.Sprintf("%s not spooled; delivered to %v only", rep.ID, out.Acked)
	default:
		where = fmt.Sprintf("%s lost: neither spooled nor delivered", rep.ID)
	}
	if err := notify.WriteSummary(w, rep, where); err != nil {
		d.log.Debug("cannot write the summary", "err", err)
	}
	return out
}

// Hold puts rep in the spool without trying the sinks (delivery was cut
// short before it came to rep, or its queue is full) and writes the
// summary to w: the next flush delivers it.
func (d *Delivery) Hold(rep *report.Report, w io.Writer) {
	where := "lost: it could not be spooled"
	e, err := d.Spool.Put(rep)
	if err != nil {
		d.log.Error("cannot spool the report; it is lost", "report", rep.ID, "err", err)
	} else {
		where = e.Path() + " (spooled, not delivered yet)"
	}
	if err := notify.WriteSummary(w, rep, where); err != nil {
		d.log.Debug("cannot write the summary", "err", err)
	}
}

// Flush delivers what the spool holds; unreadable entries are logged, and
// leftovers of dead processes removed.
func (d *Delivery) Flush(ctx context.Context) *notify.FlushResult {
	// The spill files of a prodwrap that was killed while it captured a
	// large dump go with the spool's other leftovers.
	if n, err := supervise.RemoveDeadSpills(d.Spool.Dir()); err != nil || n > 0 {
		d.log.Info("removed the dump spill files of processes that died", "removed", n, "err", err)
	}
	res, err := d.Dispatcher.Flush(ctx)
	if err != nil {
		d.log.Error("flush failed", "err", err)
		return res
	}
	for _, e := range res.Errors {
		d.log.Error("spool", "err", e)
	}
	return res
}

// FlushInBackground delivers what earlier runs left in the spool while
// the child runs (it does not wait for it), then sets the spool gauge of m
// (which may be nil). The channel is closed when it is done.
func (d *Delivery) FlushInBackground(m *metrics.Metrics) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer RecoverLogged(d.log, m, "background flush")
		d.Flush(context.Background())
		if m != nil { // the gauge's count lists the spool again
			m.SetSpool(d.Pending())
		}
	}()
	return done
}

// Pending counts the reports waiting in the spool.
func (d *Delivery) Pending() int {
	if d.Spool == nil {
		return 0
	}
	entries, _ := d.Spool.List()
	return len(entries)
}

// lookup is os.Getenv over env: the last entry for a name wins, as in
// os/exec. It scans env at each call rather than building a map first:
// each caller asks for a few names, once.
func lookup(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if name, v, ok := strings.Cut(env[i], "="); ok && name == k {
				return v
			}
		}
		return ""
	}
}
