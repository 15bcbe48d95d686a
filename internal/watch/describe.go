package watch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/report"
)

// Effective is what a configuration gives at run time beyond its values:
// where reports are kept and which sinks get them. It is what
// `prodwrap check-config` shows.
type Effective struct {
	// Wanted is the spool directory the configuration names (--spool,
	// [spool] dir, $PRODWRAP_SPOOL) or, when it names none, the default
	// one for the environment (DefaultSpoolDir).
	Wanted string
	// Explicit says whether Wanted was named by the configuration.
	Explicit bool
	// Spool is the directory in use: Wanted, a fallback directory, or ""
	// when reports go to the sinks straight from memory.
	Spool string
	// ReportDir is the file sink's directory; "" when the file sink is off.
	ReportDir string
	// Sinks are the names of the sinks a report goes to, in delivery
	// order ("file", "sentry", "slack", "webhook:NAME").
	Sinks []string
	// Problems are the warnings and errors that setting up the delivery
	// logged (why the spool was not used, a file sink that cannot be
	// written, a deprecated setting), one line each.
	Problems []string
}

// Fallback says which fallback is in effect: "" when the spool is the
// one wanted, "memory" when reports go to the sinks from memory, else
// the fallback directory.
func (e *Effective) Fallback() string {
	switch e.Spool {
	case e.Wanted:
		return ""
	case "":
		return "memory"
	}
	return e.Spool
}

// Describe sets up the delivery of cfg as a run would (NewDelivery: the
// spool opened, the sinks built) and says what it gave, without sending
// anything. Like a run, it creates the spool and report directories when
// they are missing.
func Describe(cfg *config.Config, env []string) (*Effective, error) {
	rec := newRecordHandler()
	d, err := NewDelivery(cfg, env, slog.New(rec))
	if err != nil {
		return nil, err
	}
	e := &Effective{Wanted: cfg.Spool.Dir, Explicit: cfg.Spool.Dir != "", Problems: *rec.lines}
	if !e.Explicit {
		e.Wanted = DefaultSpoolDir(lookup(env))
	}
	if d.Spool != nil {
		e.Spool = d.Spool.Dir()
	}
	if d.file != nil {
		// The file sink names no directory of its own: the one of a path.
		e.ReportDir = filepath.Dir(d.file.Path(&report.Report{ID: "x"}))
	}
	for _, s := range d.Dispatcher.Sinks {
		e.Sinks = append(e.Sinks, s.Name())
	}
	return e, nil
}

// WriteComments writes e as TOML comments, so that check-config's output
// stays a configuration file.
func (e *Effective) WriteComments(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# in effect with this environment:\n")
	how := "the default"
	if e.Explicit {
		how = "as configured"
	}
	fmt.Fprintf(&b, "#   spool directory: %s (%s)\n", e.Wanted, how)
	switch fb := e.Fallback(); fb {
	case "":
		b.WriteString("#   fallback: none\n")
	case "memory":
		b.WriteString("#   fallback: none usable; reports go to the sinks straight from memory\n")
	default:
		fmt.Fprintf(&b, "#   fallback: %s (a temporary spool of prodwrap's own)\n", fb)
	}
	sinks := make([]string, 0, len(e.Sinks))
	for _, s := range e.Sinks {
		if s == "file" && e.ReportDir != "" {
			s += " (" + e.ReportDir + ")"
		}
		sinks = append(sinks, s)
	}
	if len(sinks) == 0 {
		sinks = append(sinks, "none")
	}
	fmt.Fprintf(&b, "#   sinks: %s\n", strings.Join(sinks, ", "))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "#   %s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// recordHandler keeps the warnings and errors logged to it as one line
// each: the message and the attributes, key=value.
type recordHandler struct {
	attrs []slog.Attr
	lines *[]string // shared with the handlers derived by WithAttrs
}

func newRecordHandler() *recordHandler { return &recordHandler{lines: new([]string)} }

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Level.String()) + ": " + r.Message)
	add := func(a slog.Attr) bool {
		// One line: a multi-line value would end the comment.
		fmt.Fprintf(&b, " %s=%s", a.Key, strings.ReplaceAll(a.Value.String(), "\n", " "))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	*h.lines = append(*h.lines, b.String())
	return nil
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{attrs: append(append([]slog.Attr(nil), h.attrs...), as...), lines: h.lines}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }
