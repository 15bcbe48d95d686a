package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSentryRateLimit(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"60:error:org", 60 * time.Second},
		{"60:transaction:org", 0},
		{"30::organization, 120:error;default:project", 120 * time.Second},
		{"2.5:error:key", 2500 * time.Millisecond},
		{"bogus, :error", 0},
	}
	for _, tt := range tests {
		if got := sentryRateLimit(tt.header); got != tt.want {
			t.Errorf("sentryRateLimit(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	h := http.Header{}
	if got := retryAfter(h, now); got != 0 {
		t.Errorf("no header: %v", got)
	}
	h.Set("Retry-After", "7")
	if got := retryAfter(h, now); got != 7*time.Second {
		t.Errorf("seconds: %v", got)
	}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if got := retryAfter(h, now); got != 90*time.Second {
		t.Errorf("HTTP date: %v", got)
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	minB, maxB := 100*time.Millisecond, time.Second
	seen := map[time.Duration]bool{}
	for attempt := 0; attempt < 40; attempt++ {
		for range 20 {
			d := backoff(attempt, minB, maxB)
			if d < minB/2 || d > maxB {
				t.Fatalf("backoff(%d) = %v, outside [%v, %v]", attempt, d, minB/2, maxB)
			}
			if ceil := minB << min(attempt, 20); ceil < maxB && d > ceil {
				t.Fatalf("backoff(%d) = %v above its exponential ceiling %v", attempt, d, ceil)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits: no jitter", len(seen))
	}
}

// A DSN is read as Sentry's SDKs read it; a bad one is refused without
// being repeated (it holds the project's key).
func TestParseDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn, url, key string
	}{
		{"https://abc@o1.ingest.sentry.io/42", "https://o1.ingest.sentry.io/api/42/envelope/", "abc"},
		{"http://abc:secret@127.0.0.1:8969/7", "http://127.0.0.1:8969/api/7/envelope/", "abc"},
		{"https://abc@sentry.example.com/prefix/path/3", "https://sentry.example.com/prefix/path/api/3/envelope/", "abc"},
		{"https://abc@[::1]:9000/5", "https://[::1]:9000/api/5/envelope/", "abc"},
		{"https://abc@host/1/", "https://host/api/1/envelope/", "abc"},
	} {
		got, err := parseDSN(tt.dsn)
		if err != nil || got.envelopeURL != tt.url || got.publicKey != tt.key {
			t.Errorf("parseDSN(%q) = %+v, %v; want %s, key %s", tt.dsn, got, err, tt.url, tt.key)
		}
	}
	for _, bad := range []string{
		"", "not a url", "ftp://abc@host/1", "https://host/1", "https://abc@/1",
		"https://abc@host", "https://abc@host/", "https://abc@host:99999/1", "https://abc@host/project",
	} {
		if _, err := parseDSN(bad); err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("parseDSN(%q): %v, want a refusal that does not repeat the DSN", bad, err)
		}
	}
}
