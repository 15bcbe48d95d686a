package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// MaxAttachment caps the crash.txt attachment, in bytes.
const MaxAttachment = 1 << 20

// SentryOptions configure the Sentry sink.
type SentryOptions struct {
	// DSN is the project's DSN, a secret.
	DSN string
	// Environment and Release override the report's when set.
	Environment, Release string
	// Client is the HTTP client; nil means one with a 10 s timeout. The
	// sink uses a copy that never follows a redirect.
	Client *http.Client
}

// Sentry sends one event per report to a Sentry project, with the crash
// output as the attachment crash.txt. It speaks the envelope protocol
// itself, so that every failure is returned (the SDK's transports drop
// them) and rate limits are obeyed; sentryevent.go says why not on
// sentry-go's types.
type Sentry struct {
	dsn    sentryDSN
	opts   SentryOptions
	client *http.Client
}

var _ Sink = (*Sentry)(nil)

// NewSentry validates the DSN and returns the sink. Errors never repeat it.
func NewSentry(opts SentryOptions) (*Sentry, error) {
	dsn, err := parseDSN(opts.DSN)
	if err != nil {
		return nil, err
	}
	c := httpClient(opts.Client)
	return &Sentry{dsn: dsn, opts: opts, client: c}, nil
}

func (s *Sentry) endpoint() string { return s.dsn.envelopeURL + " " + s.dsn.publicKey }

// Name is "sentry".
func (s *Sentry) Name() string { return "sentry" }

// Notify sends r as an event.
func (s *Sentry) Notify(ctx context.Context, r *report.Report) error {
	ev := NewSentryEvent(r)
	if s.opts.Environment != "" {
		ev.Environment = s.opts.Environment
	}
	if s.opts.Release != "" {
		ev.Release = s.opts.Release
	}
	body, err := envelope(ev, r)
	if err != nil {
		return fmt.Errorf("sentry: %w: %w", err, ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.dsn.envelopeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sentry: build request: %w", ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", fmt.Sprintf("Sentry sentry_version=7, sentry_client=prodwrap/1, sentry_key=%s", s.dsn.publicKey))
	err = do(s.client, req, "sentry")
	if he, ok := errors.AsType[*HTTPError](err); ok && he.Status == http.StatusTooManyRequests && he.RetryAfter == 0 {
		he.RetryAfter = 60 * time.Second
	}
	return err
}

// Receipt is the id of the event Sentry accepted for r: the report's id
// without its dashes, the same for every attempt, so that Sentry drops a
// second copy of an event it already has.
func (s *Sentry) Receipt(r *report.Report) string { return eventID(r) }

// eventID is the Sentry event id of r.
func eventID(r *report.Report) string { return strings.ReplaceAll(r.ID, "-", "") }

// envelope encodes the event and the crash.txt attachment.
func envelope(ev *SentryEvent, r *report.Report) ([]byte, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	var b bytes.Buffer
	hdr, _ := json.Marshal(map[string]any{"event_id": ev.EventID, "sent_at": time.Now().UTC().Format(time.RFC3339Nano)})
	b.Write(hdr)
	b.WriteByte('\n')
	item, _ := json.Marshal(map[string]any{"type": "event", "length": len(payload)})
	b.Write(item)
	b.WriteByte('\n')
	b.Write(payload)
	b.WriteByte('\n')
	if r.Output != "" {
		att := r.Output
		if len(att) > MaxAttachment {
			att = att[:MaxAttachment]
		}
		item, _ := json.Marshal(map[string]any{"type": "attachment", "length": len(att), "filename": "crash.txt", "content_type": "text/plain"})
		b.Write(item)
		b.WriteByte('\n')
		b.WriteString(att)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// NewSentryEvent maps a report to a Sentry event: level fatal, one
// exception with the crashing goroutine's stack (oldest frame first, as
// Sentry wants), a thread for the crashing goroutine and one per bucket,
// tags, contexts, breadcrumbs from the log tail, and the report's
// fingerprint.
func NewSentryEvent(r *report.Report) *SentryEvent {
	c := r.Crash
	ev := &SentryEvent{}
	ev.EventID = eventID(r)
	ev.Level = SentryLevelFatal
	ev.Platform = "go"
	ev.Timestamp = r.Time
	ev.ServerName = r.Host.Hostname
	ev.Release = r.Release
	ev.Environment = r.Environment
	ev.Fingerprint = r.Fingerprint
	ev.Logger = "prodwrap"
	ev.SDK = SentrySDK{Name: "prodwrap", Version: "1"}
	ev.Tags = make(map[string]string, len(r.Tags)+6)
	for k, v := range r.Tags { // the program's own first: prodwrap's win a clash
		ev.Tags[k] = v
	}
	for k, v := range map[string]string{
		"kind":       string(c.Kind),
		"exit_code":  strconv.Itoa(r.Exit.Code),
		"service":    r.Service,
		"go_version": r.Build.GoVersion,
	} {
		ev.Tags[k] = v
	}
	if r.Wrap != "" {
		ev.Tags["wrap"] = r.Wrap
	}
	if r.Exit.Signal != nil {
		ev.Tags["signal"] = *r.Exit.Signal
	} else if c.Signal != nil {
		ev.Tags["signal"] = c.Signal.Name
	}
	if r.Restart > 0 {
		ev.Tags["restart"] = strconv.Itoa(r.Restart)
	}
	ev.Contexts = map[string]map[string]any{
		"os":      {"name": r.Host.OS},
		"device":  {"arch": r.Host.Arch},
		"runtime": {"name": "go", "version": strings.TrimPrefix(r.Build.GoVersion, "go")},
		"app":     {"app_name": r.Service, "app_version": r.Release, "app_start_time": r.Time.Add(-time.Duration(r.Exit.UptimeMS) * time.Millisecond).Format(time.RFC3339)},
		"prodwrap": {"command": r.Command.Path, "args": r.Command.Args, "pid": r.Command.PID, "exit_code": r.Exit.Code,
			"core_dumped": r.Exit.CoreDumped, "uptime_ms": r.Exit.UptimeMS, "goroutines": c.Goroutines, "truncated": c.Truncated},
	}
	if r.Build.MainModule != "" {
		ev.Modules = map[string]string{r.Build.MainModule: r.Build.Version}
	}
	handled := false
	exc := SentryException{
		Type:      exceptionType(c),
		Value:     c.Message,
		Mechanism: &SentryMechanism{Type: "prodwrap", Handled: &handled},
	}
	if c.Culprit != nil {
		ev.Transaction = c.Culprit.Function
	}
	if g := c.Goroutine; g != nil {
		st := stacktrace(g.Frames)
		exc.Stacktrace = st
		exc.ThreadID = uint64(g.ID)
		name := fmt.Sprintf("goroutine %d [%s]", g.ID, g.State)
		ev.Threads = append(ev.Threads, SentryThread{ID: strconv.Itoa(g.ID), Name: name, Stacktrace: st, Crashed: c.Crashing, Current: true})
	}
	for i, b := range c.Buckets {
		id := fmt.Sprintf("bucket-%d", i)
		if len(b.IDs) > 0 {
			id = strconv.Itoa(b.IDs[0])
		}
		ev.Threads = append(ev.Threads, SentryThread{ID: id, Name: fmt.Sprintf("%d goroutines [%s]", b.Count, b.State), Stacktrace: stacktrace(b.Frames)})
	}
	ev.Exception = []SentryException{exc}
	for _, b := range r.Breadcrumbs {
		bc := &SentryBreadcrumb{Type: "default", Category: "log", Message: b.Message, Level: sentryLevel(b.Level), Data: b.Fields}
		if t, err := time.Parse(time.RFC3339Nano, b.Time); err == nil {
			bc.Timestamp = t
		}
		ev.Breadcrumbs = append(ev.Breadcrumbs, bc)
	}
	if len(r.Breadcrumbs) == 0 {
		for _, l := range r.LogTail {
			ev.Breadcrumbs = append(ev.Breadcrumbs, &SentryBreadcrumb{Type: "default", Category: "log", Message: l})
		}
	}
	return ev
}

func exceptionType(c *parse.Crash) string {
	switch c.Kind {
	case parse.KindPanic:
		return "panic"
	case parse.KindSignal:
		if c.Signal != nil {
			return c.Signal.Name
		}
	case parse.KindFatalError, parse.KindDeadlock, parse.KindStackOverflow, parse.KindOOM:
		return "fatal error"
	}
	return string(c.Kind)
}

// stacktrace converts innermost-first frames to Sentry's oldest-first.
func stacktrace(frames []parse.Frame) *SentryStacktrace {
	st := &SentryStacktrace{Frames: make([]SentryFrame, 0, len(frames))}
	for _, f := range slices.Backward(frames) {
		fn := f.Function
		if f.Package != "" {
			fn = strings.TrimPrefix(fn, f.Package+".")
		}
		st.Frames = append(st.Frames, SentryFrame{
			Function: fn, Module: f.Package, AbsPath: f.File, Filename: baseName(f.File),
			Lineno: f.Line, InApp: f.InApp, Platform: "go",
		})
	}
	return st
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func sentryLevel(l string) string {
	switch strings.ToLower(l) {
	case "debug":
		return SentryLevelDebug
	case "warn", "warning":
		return SentryLevelWarning
	case "error":
		return SentryLevelError
	case "fatal", "panic", "dpanic":
		return SentryLevelFatal
	}
	return SentryLevelInfo
}
