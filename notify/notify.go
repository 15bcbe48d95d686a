package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// Notifier delivers one report.
type Notifier interface {
	Notify(ctx context.Context, r *report.Report) error
}

// Sink is a configured destination. Name is stable and unique in one
// configuration ("file", "webhook:ops", "sentry"); it keys acknowledgements
// in the spool.
type Sink interface {
	Notifier
	Name() string
}

// HTTPError is a sink's non-2xx answer.
type HTTPError struct {
	Sink   string
	Status int
	// RetryAfter is what the receiver asked to wait, 0 when it did not say.
	RetryAfter time.Duration
	// Body is the start of the answer's body, for the log: at most
	// maxErrorBody bytes, the request's secrets masked.
	Body string
	// Location is where a 3xx pointed, masked: scheme and host only.
	Location string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Sink, e.Status)
	if e.Status/100 == 3 {
		s += " (a redirect, not followed"
		if e.Location != "" {
			s += ", to " + e.Location
		}
		s += "; set the sink's final URL)"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Permanent reports whether retrying cannot help: a 3xx (redirects are
// never followed: the configuration must name the final URL), a 4xx other
// than 408 (timeout) and 429 (rate limited).
func (e *HTTPError) Permanent() bool {
	return e.Status/100 == 3 || e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// IsPermanent reports whether err says that retrying the same delivery
// cannot succeed: a 4xx that is not a timeout or a rate limit, a report the
// sink cannot encode, or a bug of the sink (ErrInternal).
func IsPermanent(err error) bool {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.Permanent()
	}
	return errors.Is(err, ErrPermanent) || errors.Is(err, ErrInternal)
}

// ErrInternal marks a panic of a sink, recovered: a bug of prodwrap's.
var ErrInternal = errors.New("notify: internal error (a bug)")

// ErrPermanent marks errors that no retry can fix (a bad request body).
var ErrPermanent = errors.New("notify: permanent failure")

// retryAfter reads Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// scrubURLError removes the URL from net/http's errors: for webhooks and
// Sentry DSNs the URL is a secret.
func scrubURLError(sink string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %s: %w", sink, ue.Op, ue.Err)
	}
	return fmt.Errorf("%s: %w", sink, err)
}

// sentryRateLimit reads X-Sentry-Rate-Limits for error events (see
// rateLimitFor).
func sentryRateLimit(h string) time.Duration { return rateLimitFor(h, "error") }
