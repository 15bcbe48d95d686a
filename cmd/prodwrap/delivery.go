package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
)

// delivery wires the spool and the sinks of a configuration.
type delivery struct {
	spool *notify.Spool
	file  *notify.File // nil when the file sink is off
	disp  *notify.Dispatcher
	log   *slog.Logger
}

// newDelivery opens the spool and builds the sinks. A spool directory that
// cannot be used falls back to a temporary one, with an error logged: the
// child runs whatever happens to prodwrap's storage.
func newDelivery(cfg *config.Config, env []string, logger *slog.Logger) (*delivery, error) {
	dir := cfg.Spool.Dir
	if dir == "" {
		dir = config.DefaultSpoolDir(lookup(env))
	}
	sp, err := notify.OpenSpool(dir)
	if err != nil {
		fallback := filepath.Join(os.TempDir(), fmt.Sprintf("prodwrap-spool-%d", os.Getuid()))
		logger.Error("cannot use the spool directory; using a temporary one", "err", err, "fallback", fallback)
		if sp, err = notify.OpenSpool(fallback); err != nil {
			return nil, err
		}
	}
	d := &delivery{spool: sp, log: logger}
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
	d.disp = &notify.Dispatcher{
		Spool:      sp,
		Sinks:      sinks,
		Deadline:   time.Duration(cfg.Delivery.Deadline),
		MinBackoff: time.Duration(cfg.Delivery.MinBackoff),
		MaxBackoff: time.Duration(cfg.Delivery.MaxBackoff),
		Logger:     logger,
	}
	return d, nil
}

// report delivers rep and writes the human summary to w.
func (d *delivery) report(ctx context.Context, rep *parse.Report, w io.Writer) *notify.Outcome {
	out, err := d.disp.Deliver(ctx, rep)
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
		where = fmt.Sprintf("delivered to %v", out.Acked)
	}
	if err := notify.WriteSummary(w, rep, where); err != nil {
		d.log.Debug("cannot write the summary", "err", err)
	}
	return out
}

func (d *delivery) flush(ctx context.Context) *notify.FlushResult {
	res, err := d.disp.Flush(ctx)
	if err != nil {
		d.log.Error("flush failed", "err", err)
		return res
	}
	for _, e := range res.Errors {
		d.log.Error("unreadable spool entry", "err", e)
	}
	return res
}

// pending counts the reports waiting in the spool.
func (d *delivery) pending() int {
	entries, _ := d.spool.List()
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

func debugStack() []byte { return debug.Stack() }
