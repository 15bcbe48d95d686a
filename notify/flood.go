package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// DefaultFloodWindow is the flood-control window when none is set.
const DefaultFloodWindow = 10 * time.Minute

// Flood is the crash-loop guard of a chatty sink (Slack): within Window,
// the first report of a fingerprint is posted and the others are only
// counted; once the window has passed, one summary says how many there
// were ("api crashed 37 times in 10m0s on host-a"). The summary goes out
// with the next report of that fingerprint, or at the next Dispatcher.Flush
// (every start of prodwrap flushes in the background).
//
// The state lives in the spool directory (flood.json, guarded by an flock
// on flood.lock), so it holds across restarts of prodwrap itself, and
// prodwrap processes sharing a spool share it.
//
// A Flood is safe for use by several goroutines.
type Flood struct {
	// Dir holds the state; prodwrap gives the spool's directory.
	Dir string
	// Window is the flood-control window; 0 means DefaultFloodWindow.
	Window time.Duration
	// Clock tells when a window closes; nil is the real clock.
	Clock Clock
}

// floodEntry is one fingerprint's window.
type floodEntry struct {
	First      time.Time     `json:"first"`
	Suppressed int           `json:"suppressed"`
	Sample     report.Report `json:"sample"`
}

// floodState maps a fingerprint key to its window.
type floodState map[string]*floodEntry

func (f *Flood) window() time.Duration {
	if f.Window <= 0 {
		return DefaultFloodWindow
	}
	return f.Window
}

func (f *Flood) clock() time.Time { return orReal(f.Clock).Now() }

func floodKey(r *report.Report) string {
	h := sha256.Sum256([]byte(r.Service + "\x00" + strings.Join(r.Fingerprint, "\x00")))
	return hex.EncodeToString(h[:12])
}

// update runs fn on the state under the lock and saves it.
func (f *Flood) update(fn func(s floodState) error) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("flood state: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(f.Dir, "flood.lock"), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("flood state: %w", err)
	}
	defer lock.Close() // releases the flock
	if err := flock(lock); err != nil {
		return fmt.Errorf("flood state lock: %w", err)
	}
	path := filepath.Join(f.Dir, "flood.json")
	s := floodState{}
	b, err := readFileSafe(path, MaxEntrySize)
	var bad *badEntryError
	switch {
	case err == nil:
		if json.Unmarshal(b, &s) != nil {
			s = floodState{} // a damaged state file costs at most a repeated message
		}
	case errors.As(err, &bad):
		s = floodState{} // replaced by the rename below, never followed
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("flood state: %w", err)
	}
	if err := fn(s); err != nil {
		return err
	}
	b, err = json.Marshal(s)
	if err != nil {
		return fmt.Errorf("flood state: %w", err)
	}
	return writeFileAtomic(path, b)
}

// summarizer posts flood summaries; Slack implements it.
type summarizer interface {
	postSummary(ctx context.Context, service, host string, count int, window time.Duration, sample *report.Report) error
}

// admit decides whether r is posted: true for the first of its fingerprint
// in the window. A window that has passed with suppressed reports gets its
// summary posted first.
func (f *Flood) admit(ctx context.Context, r *report.Report, s summarizer) (bool, error) {
	var post bool
	var due *floodEntry
	key := floodKey(r)
	now := f.clock()
	err := f.update(func(st floodState) error {
		e := st[key]
		if e != nil && now.Sub(e.First) < f.window() {
			e.Suppressed++
			post = false
			return nil
		}
		if e != nil && e.Suppressed > 0 {
			due = e
		}
		sample := *r
		sample.Output, sample.LogTail, sample.Breadcrumbs = "", nil, nil
		st[key] = &floodEntry{First: now, Sample: sample}
		post = true
		return nil
	})
	if err != nil {
		return true, err // without state, post: a repeat beats a loss
	}
	if due != nil {
		if err := f.post(ctx, s, []*floodEntry{due}); err != nil {
			return post, err
		}
	}
	return post, nil
}

// post posts the summaries; one whose post failed for a reason a retry
// may fix is kept in the state, already due, for the next flush (at the
// next start of prodwrap or `prodwrap flush`), so that a receiver that is
// down when a window closes does not lose the count.
func (f *Flood) post(ctx context.Context, s summarizer, due []*floodEntry) error {
	var errs, retry []error
	var keep []*floodEntry
	for _, e := range due {
		err := s.postSummary(ctx, e.Sample.Service, e.Sample.Host.Hostname, e.Suppressed+1, f.window(), &e.Sample)
		switch {
		case err == nil:
		case IsPermanent(err):
			errs = append(errs, err)
		default:
			retry = append(retry, err)
			keep = append(keep, e)
		}
	}
	if len(keep) > 0 {
		if err := f.update(func(st floodState) error {
			for _, e := range keep {
				st["retry/"+floodKey(&e.Sample)+"/"+strconv.FormatInt(e.First.UnixNano(), 10)] = e
			}
			return nil
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, retry...)...)
}

// flushSummaries posts the summaries of every window that has passed.
func (f *Flood) flushSummaries(ctx context.Context, s summarizer) error {
	now := f.clock()
	return f.close(ctx, s, func(e *floodEntry) bool { return now.Sub(e.First) >= f.window() })
}

// closeWindows posts now the summaries of service's open windows that
// held reports back, whether or not they have passed, and forgets them:
// prodwrap gave up restarting service, its crash loop is over, and how
// often it crashed is news now, not at some later start.
func (f *Flood) closeWindows(ctx context.Context, s summarizer, service string) error {
	return f.close(ctx, s, func(e *floodEntry) bool { return e.Sample.Service == service })
}

// close forgets the windows ended picks and posts the summaries of those
// that held reports back.
func (f *Flood) close(ctx context.Context, s summarizer, ended func(*floodEntry) bool) error {
	var due []*floodEntry
	err := f.update(func(st floodState) error {
		for k, e := range st {
			if !ended(e) {
				continue
			}
			if e.Suppressed > 0 {
				due = append(due, e)
			}
			delete(st, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return f.post(ctx, s, due)
}
