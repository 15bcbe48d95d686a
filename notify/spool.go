package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// Entry is a report waiting in the spool, with the sinks that have
// acknowledged it.
type Entry struct {
	Report *report.Report       `json:"report"`
	Acked  map[string]time.Time `json:"acked"`
	// Receipts keeps what the acknowledging sinks returned (see Receipts).
	Receipts Receipts  `json:"receipts,omitempty"`
	Spooled  time.Time `json:"spooled"`
	// Attempts counts deliveries of this entry that did not finish.
	Attempts int `json:"attempts"`

	path string
}

// Path is the entry's file.
func (e *Entry) Path() string { return e.path }

// Spool is the durable queue of reports not yet delivered everywhere. It is
// safe for use by several goroutines; several prodwrap processes may share
// a directory, because every change is an atomic rename.
type Spool struct {
	dir string
	mu  sync.Mutex
}

// OpenSpool opens (creating it if needed) the spool in dir.
func OpenSpool(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("notify: empty spool directory")
	}
	if err := os.MkdirAll(filepath.Join(dir, "pending"), 0o700); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	return &Spool{dir: dir}, nil
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

func (s *Spool) pending() string { return filepath.Join(s.dir, "pending") }

// Put writes r as a new entry, durably, and returns it.
func (s *Spool) Put(r *report.Report) (*Entry, error) {
	if r.ID == "" {
		return nil, errors.New("notify: report without id")
	}
	e := &Entry{Report: r, Acked: map[string]time.Time{}, Spooled: time.Now().UTC(),
		path: filepath.Join(s.pending(), safeName(r.ID)+".json")}
	if err := s.write(e); err != nil {
		return nil, err
	}
	return e, nil
}

// Ack records that sink acknowledged e, with its receipt ("" for none).
func (s *Spool) Ack(e *Entry, sink, receipt string) error {
	s.mu.Lock()
	e.Acked[sink] = time.Now().UTC()
	if receipt != "" {
		if e.Receipts == nil {
			e.Receipts = Receipts{}
		}
		e.Receipts[sink] = receipt
	}
	s.mu.Unlock()
	return s.write(e)
}

// Remove deletes a fully delivered entry.
func (s *Spool) Remove(e *Entry) error {
	if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool entry: %w", err)
	}
	return syncDir(s.pending())
}

// List returns the pending entries, oldest first. Unreadable entries are
// returned as errors alongside the good ones, not dropped silently.
func (s *Spool) List() ([]*Entry, []error) {
	names, err := filepath.Glob(filepath.Join(s.pending(), "*.json"))
	if err != nil {
		return nil, []error{err}
	}
	sort.Strings(names)
	var out []*Entry
	var errs []error
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("read spool entry %s: %w", n, err))
			continue
		}
		e := &Entry{}
		if err := json.Unmarshal(b, e); err != nil || e.Report == nil {
			errs = append(errs, fmt.Errorf("spool entry %s is not a report: %v", n, err))
			continue
		}
		if e.Acked == nil {
			e.Acked = map[string]time.Time{}
		}
		e.path = n
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spooled.Before(out[j].Spooled) })
	return out, errs
}

// write stores e atomically: temp file, fsync, rename, fsync directory.
func (s *Spool) write(e *Entry) error {
	s.mu.Lock()
	b, err := json.Marshal(e)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode spool entry: %w", err)
	}
	return writeFileAtomic(e.path, b)
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// safeName keeps ids usable as file names.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' {
			return '_'
		}
		return r
	}, id)
}
