package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRateLimited marks a delivery not tried because the sink's receiver
// asked to wait (a 429's Retry-After, Sentry's X-Sentry-Rate-Limits) past
// the delivery's deadline: the report waits in the spool.
var ErrRateLimited = errors.New("rate limited")

// Rate limits are kept in <spool>/ratelimits.json, a map of sink (see
// limitName) to the time its limit ends, rewritten under an flock on ratelimits.lock: so
// they hold across reports, restarts of prodwrap and the processes that
// share the spool. This process also keeps them in memory, for a spool it
// cannot write.
const rateLimitFile, rateLimitLock = "ratelimits.json", "ratelimits.lock"

// limitedUntil is when sink's known rate limit ends; zero when none is
// known, or it has ended by now.
func (s *Spool) limitedUntil(sink string, now time.Time) time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	until := s.limits[sink]
	s.mu.Unlock()
	if st, err := s.readLimits(); err == nil && st[sink].After(until) {
		until = st[sink]
	}
	if !until.After(now) {
		return time.Time{}
	}
	return until
}

// noteLimit records that sink must not be sent anything before until.
func (s *Spool) noteLimit(sink string, until, now time.Time) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.limits == nil {
		s.limits = map[string]time.Time{}
	}
	if until.After(s.limits[sink]) {
		s.limits[sink] = until
	}
	s.mu.Unlock()
	lock, err := os.OpenFile(filepath.Join(s.dir, rateLimitLock), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("rate limit state: %w", err)
	}
	defer lock.Close()
	if err := flock(lock); err != nil {
		return fmt.Errorf("rate limit state: %w", err)
	}
	st, err := s.readLimits()
	if err != nil {
		st = map[string]time.Time{} // a damaged state costs at most one request
	}
	for k, t := range st {
		if !t.After(now) {
			delete(st, k)
		}
	}
	if until.After(st[sink]) {
		st[sink] = until
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("rate limit state: %w", err)
	}
	return writeFileAtomic(filepath.Join(s.dir, rateLimitFile), b)
}

func (s *Spool) readLimits() (map[string]time.Time, error) {
	b, err := readFileSafe(filepath.Join(s.dir, rateLimitFile), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := map[string]time.Time{}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return st, nil
}

// flock takes f's exclusive flock, waiting for it.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// endpointer is implemented by the sinks whose receiver is named by a
// URL and a key: their rate limits are those of that receiver, not of any
// sink of the same name in another configuration sharing the spool.
type endpointer interface {
	endpoint() string
}

// limitName is what a sink's rate limit is kept under: its name and a
// hash of its receiver (the state file holds no secret).
func limitName(s Sink) string {
	name := s.Name()
	if e, ok := s.(endpointer); ok {
		h := sha256.Sum256([]byte(e.endpoint()))
		name += "/" + hex.EncodeToString(h[:8])
	}
	return name
}

type limitKey struct{}

// withLimitNoter hands send the function that records a rate limit a
// response announced.
func withLimitNoter(ctx context.Context, note func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, limitKey{}, note)
}

// noteLimits reads the rate limits of every response, a 2xx included:
// X-Sentry-Rate-Limits (for error events), and Retry-After on a 429.
func noteLimits(ctx context.Context, resp *http.Response) {
	note, _ := ctx.Value(limitKey{}).(func(time.Duration))
	if note == nil {
		return
	}
	wait := sentryRateLimit(resp.Header.Get("X-Sentry-Rate-Limits"))
	if resp.StatusCode == http.StatusTooManyRequests {
		wait = max(wait, retryAfter(resp.Header, time.Now()))
	}
	if wait > 0 {
		note(wait)
	}
}

// rateLimitFor reads X-Sentry-Rate-Limits ("60:session;error:org,
// 2700::organization") for one category: the longest limit whose
// categories are empty (all) or name it.
func rateLimitFor(h, category string) time.Duration {
	var wait time.Duration
	for _, limit := range strings.Split(h, ",") {
		parts := strings.Split(strings.TrimSpace(limit), ":")
		if len(parts) < 2 {
			continue
		}
		secs, err := strconv.ParseFloat(parts[0], 64)
		if err != nil || secs < 0 {
			continue
		}
		applies := parts[1] == ""
		for _, c := range strings.Split(parts[1], ";") {
			if c == category {
				applies = true
			}
		}
		if d := time.Duration(secs * float64(time.Second)); applies && d > wait {
			wait = d
		}
	}
	return wait
}
