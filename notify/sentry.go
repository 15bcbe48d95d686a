package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/prodwrap/prodwrap/report"
)

// MaxAttachment caps the crash.txt attachment, in bytes.
const MaxAttachment = 1 << 20

// SentryOptions configure the Sentry sink.
type SentryOptions struct {
	// DSN is the project's DSN, a secret.
	DSN string
	// Environment and Release override the report's when set: SENTRY_ENVIRONMENT
	// and SENTRY_RELEASE (or [sentry] environment and release), else
	// [service] environment and release. The default release is sentry-go's
	// (see SentryRelease).
	Environment, Release string
	// Getenv reads the CI variables of the default release, as sentry-go
	// reads them in the child (its environment is prodwrap's); nil reads none.
	Getenv func(string) string
	// Tags are added to every event ([sentry] tags, PRODWRAP_TAGS).
	Tags map[string]string
	// Fingerprint is FingerprintProdwrap to send the report's fingerprint;
	// "" leaves grouping to Sentry, as for sentry-go's events.
	Fingerprint string
	// Client is the HTTP client; nil means one with a 10 s timeout. The
	// sink uses a copy that never follows a redirect.
	Client *http.Client
}

// Sentry sends one event per report to a Sentry project, with the crash
// output as the attachment crash.txt. The event is sentry-go's
// sentry.Event and the envelope is made of sentry-go's items; it is sent
// with prodwrap's own HTTP client, not sentry-go's transports, so that
// every failure is returned (the transports drop them) and rate limits are
// obeyed.
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

// Event is the event the sink sends for r.
func (s *Sentry) Event(r *report.Report) *sentry.Event {
	return newSentryEvent(r, EventOptions{
		Environment: s.opts.Environment, Release: s.opts.Release, Getenv: s.opts.Getenv,
		Tags: s.opts.Tags, Fingerprint: s.opts.Fingerprint,
	})
}

// Release is the release of r's event (see SentryOptions.Release and
// SentryRelease).
func (s *Sentry) Release(r *report.Report) string {
	if s.opts.Release != "" {
		return s.opts.Release
	}
	return SentryRelease(r, s.opts.Getenv)
}

// Notify sends r as an event.
func (s *Sentry) Notify(ctx context.Context, r *report.Report) error {
	body, err := envelope(s.Event(r), time.Now())
	if err != nil {
		return fmt.Errorf("sentry: %w: %w", err, ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.dsn.envelopeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sentry: build request: %w", ErrPermanent)
	}
	client := "prodwrap/" + sdkVersion()
	req.Header.Set("User-Agent", client)
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", fmt.Sprintf("Sentry sentry_version=7, sentry_client=%s, sentry_key=%s", client, s.dsn.publicKey))
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

// envelope encodes ev and its attachments as an envelope: sentry-go's
// items (Event.ToEnvelope) under a header of prodwrap's (sentry-go's
// header type is internal to it), {"event_id", "sent_at", "sdk"}.
func envelope(ev *sentry.Event, now time.Time) ([]byte, error) {
	env, err := ev.ToEnvelope(nil)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	hdr, err := json.Marshal(struct {
		EventID string `json:"event_id"`
		SentAt  string `json:"sent_at"`
		Sdk     any    `json:"sdk"`
	}{string(ev.EventID), now.UTC().Format(time.RFC3339Nano), map[string]string{"name": ev.Sdk.Name, "version": ev.Sdk.Version}})
	if err != nil {
		return nil, fmt.Errorf("encode envelope header: %w", err)
	}
	var b bytes.Buffer
	b.Write(hdr)
	b.WriteByte('\n')
	for _, it := range env.Items {
		ih, err := json.Marshal(it.Header)
		if err != nil {
			return nil, fmt.Errorf("encode envelope item: %w", err)
		}
		b.Write(ih)
		b.WriteByte('\n')
		b.Write(it.Payload)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}
