package watch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/report"
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

// NewDelivery opens the spool and builds the sinks. A spool directory that
// cannot be used falls back to a temporary one, with an error logged: the
// child runs whatever happens to prodwrap's storage.
func NewDelivery(cfg *config.Config, env []string, logger *slog.Logger) (*Delivery, error) {
	dir := cfg.Spool.Dir
	if dir == "" {
		dir = DefaultSpoolDir(lookup(env))
	}
	sp, err := notify.OpenSpool(dir)
	if err != nil {
		fallback := filepath.Join(os.TempDir(), fmt.Sprintf("prodwrap-spool-%d", os.Getuid()))
		logger.Error("cannot use the spool directory; using a temporary one", "err", err, "fallback", fallback)
		if sp, err = notify.OpenSpool(fallback); err != nil {
			return nil, err
		}
	}
	d := &Delivery{Spool: sp, log: logger}
	var sinks []notify.Sink
	if cfg.Sentry.DSN != "" {
		s, err := notify.NewSentry(notify.SentryOptions{
			DSN:         cfg.Sentry.DSN.Reveal(),
			Environment: cfg.Sentry.Environment,
			Release:     cfg.Sentry.Release,
		})
		if err != nil {
			return nil, fmt.Errorf("sentry: %w", err)
		}
		sinks = append(sinks, s)
	}
	if cfg.Slack.WebhookURL != "" || cfg.Slack.Token != "" {
		s, err := notify.NewSlack(notify.SlackOptions{
			WebhookURL: cfg.Slack.WebhookURL.Reveal(),
			Token:      cfg.Slack.Token.Reveal(),
			Channel:    cfg.Slack.Channel,
			APIURL:     cfg.Slack.APIURL,
			Flood:      &notify.Flood{Dir: sp.Dir(), Window: time.Duration(cfg.Delivery.FloodWindow)},
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
		if fdir == "" {
			fdir = filepath.Join(sp.Dir(), "reports")
		}
		f, err := notify.NewFile(fdir)
		if err != nil {
			return nil, err
		}
		d.file = f
		sinks = append([]notify.Sink{f}, sinks...)
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

// Report delivers rep and writes the human summary to w: where the report
// is (the file sink's file, else the spool entry, else the sinks that took
// it). It returns nil when the report could not even be spooled.
func (d *Delivery) Report(ctx context.Context, rep *report.Report, w io.Writer) *notify.Outcome {
	out, err := d.Dispatcher.Deliver(ctx, rep)
	if err != nil {
		d.log.Error("cannot spool the report; it is lost unless a sink takes it now", "err", err)
		fmt.Fprintf(w, "prodwrap: %s crashed (%s): %s\n", rep.Service, rep.Crash.Kind, rep.Crash.Message)
		return nil
	}
	where := out.Entry.Path() + " (spooled, not delivered yet)"
	if d.file != nil {
		if _, failed := out.Failed["file"]; !failed {
			where = d.file.Path(rep)
		}
	} else if out.Complete() {
		where = fmt.Sprintf("%s delivered to %v", rep.ID, out.Acked)
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

// Flush delivers what the spool holds; unreadable entries are logged.
func (d *Delivery) Flush(ctx context.Context) *notify.FlushResult {
	res, err := d.Dispatcher.Flush(ctx)
	if err != nil {
		d.log.Error("flush failed", "err", err)
		return res
	}
	for _, e := range res.Errors {
		d.log.Error("unreadable spool entry", "err", e)
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
		m.SetSpool(d.Pending())
	}()
	return done
}

// Pending counts the reports waiting in the spool.
func (d *Delivery) Pending() int {
	entries, _ := d.Spool.List()
	return len(entries)
}

func lookup(env []string) func(string) string {
	m := map[string]string{}
	for _, kv := range env {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return func(k string) string { return m[k] }
}
