package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// Limits of the spool.
const (
	// MaxEntrySize caps a spool entry, in bytes: Put refuses a larger one
	// (the report is then delivered from memory), and a larger file found
	// in pending/ is quarantined unread. A report's output is cut at
	// report.MaxOutput and its goroutines at parse's limits (512 buckets
	// of 256 frames), so a real entry is far below it: kilobytes.
	MaxEntrySize = 32 << 20
	// DefaultQuarantineFiles and DefaultQuarantineBytes bound quarantine/
	// when Spool.MaxQuarantineFiles and MaxQuarantineBytes are 0: beyond
	// either, the oldest files are removed first.
	DefaultQuarantineFiles = 100
	DefaultQuarantineBytes = 64 << 20
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

	path  string   // "" for a report delivered from memory
	claim *os.File // the held lock file, nil when not claimed
}

// Path is the entry's file, "" for a report that could not be spooled.
func (e *Entry) Path() string { return e.path }

// errNoSpool is the error of a nil Spool's Put.
var errNoSpool = errors.New("no spool")

// Spool is the durable queue of reports not yet delivered everywhere. It is
// safe for use by several goroutines, and several prodwrap processes may
// share its directory: every change is an atomic rename, and an entry is
// delivered only under its claim (see the package documentation). A nil
// *Spool is no spool: Dir is "", List is empty, Put fails.
type Spool struct {
	dir string

	// MaxQuarantineFiles and MaxQuarantineBytes bound quarantine/; 0
	// means DefaultQuarantineFiles and DefaultQuarantineBytes. Set them
	// before the spool is used.
	MaxQuarantineFiles int
	MaxQuarantineBytes int64

	mu sync.Mutex
	// unrecorded keeps, per entry file name, the acknowledgements this
	// process could not write (a read-only spool), so that it never sends
	// those sinks the entry again.
	unrecorded map[string]map[string]ack
	// limits are the rate limits this process knows, beside the state file.
	limits map[string]time.Time
}

type ack struct {
	at      time.Time
	receipt string
	sink    string
}

// noteAck records in e, in memory, that sink acknowledged it.
func noteAck(e *Entry, sink, receipt string) time.Time {
	now := time.Now().UTC()
	e.Acked[sink] = now
	if receipt != "" {
		if e.Receipts == nil {
			e.Receipts = Receipts{}
		}
		e.Receipts[sink] = receipt
	}
	return now
}

// OpenSpool opens (creating it if needed) the spool in dir. dir itself may
// be a symbolic link, as an administrator may want; nothing under it is
// followed through one.
func OpenSpool(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("notify: empty spool directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	for _, sub := range []string{"pending", "quarantine"} {
		if err := mkdirNoFollow(filepath.Join(dir, sub)); err != nil {
			return nil, fmt.Errorf("open spool %s: %w", dir, err)
		}
	}
	return &Spool{dir: dir}, nil
}

// OpenOwnedSpool opens a fallback spool: dir is created with mode 0700
// when missing, and refused unless it is a directory (not a symbolic link)
// owned by the effective user and not writable by group or others. A
// directory someone else made, or could write into, is not prodwrap's.
func OpenOwnedSpool(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("notify: empty spool directory")
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("fallback spool %s: %w", dir, err)
	}
	if err := checkOwned(dir); err != nil {
		return nil, fmt.Errorf("fallback spool %s: %w; not used", dir, err)
	}
	return OpenSpool(dir)
}

// checkOwned says why dir is not a private directory of the effective user.
func checkOwned(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return errors.New("is a symbolic link")
	}
	if !fi.IsDir() {
		return errors.New("is not a directory")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot read its owner")
	}
	if euid := os.Geteuid(); st.Uid != uint32(euid) {
		return fmt.Errorf("owned by uid %d, not %d", st.Uid, euid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("mode %#o is writable by group or others", fi.Mode().Perm())
	}
	return nil
}

// mkdirNoFollow makes dir (one level) and checks that it is a directory
// and not a symbolic link to one.
func mkdirNoFollow(dir string) error {
	// Lstat first: the directory is there at every start but the first,
	// and a system call here is a few microseconds of each start.
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (a symbolic link is not followed)", dir)
	}
	return nil
}

// Dir is the spool's directory, "" for a nil Spool.
func (s *Spool) Dir() string {
	if s == nil {
		return ""
	}
	return s.dir
}

func (s *Spool) pending() string    { return filepath.Join(s.dir, "pending") }
func (s *Spool) quarantine() string { return filepath.Join(s.dir, "quarantine") }

// lockPath is the claim's lock file of an entry file.
func lockPath(entry string) string { return strings.TrimSuffix(entry, ".json") + ".lock" }

// Put writes r as a new entry, durably, and returns it, not claimed: a
// flush (of this process or another) delivers it. Dispatcher.Deliver
// keeps the claim instead, taken before the entry appears, so that no
// other delivery sends it meanwhile.
func (s *Spool) Put(r *report.Report) (*Entry, error) {
	if s == nil {
		return nil, errNoSpool
	}
	e, err := s.putClaimed(r)
	if err != nil {
		return nil, err
	}
	s.Release(e)
	return e, nil
}

// putClaimed is Put, returning the entry claimed by the caller, who gives
// the claim back with Release.
func (s *Spool) putClaimed(r *report.Report) (*Entry, error) {
	if err := checkReport(r); err != nil {
		return nil, err
	}
	e := &Entry{Report: r, Acked: map[string]time.Time{}, Spooled: time.Now().UTC(),
		path: filepath.Join(s.pending(), safeName(r.ID)+".json")}
	lock, err := lockFile(lockPath(e.path))
	if err != nil {
		return nil, fmt.Errorf("spool entry %s: %w", filepath.Base(e.path), err)
	}
	if cur, err := readEntry(e.path); err == nil && cur.Report.ID == r.ID {
		// Spooled before (the same report handed over twice): keep the
		// entry and the acknowledgements it holds.
		s.mergeUnrecorded(cur)
		cur.claim = lock
		return cur, nil
	}
	if err := s.write(e); err != nil {
		os.Remove(lock.Name())
		lock.Close()
		return nil, err
	}
	e.claim = lock
	return e, nil
}

// checkReport is what an entry's report must have to be delivered.
func checkReport(r *report.Report) error {
	switch {
	case r == nil:
		return errors.New("notify: no report")
	case r.ID == "":
		return errors.New("notify: report without id")
	case r.Crash == nil:
		return errors.New("notify: report without crash")
	}
	return nil
}

// Release gives back e's claim (closing the lock file releases the flock).
// It is a no-op for an entry that is not claimed.
func (s *Spool) Release(e *Entry) {
	if e.claim != nil {
		e.claim.Close()
		e.claim = nil
	}
}

// Ack records that sink acknowledged e, with its receipt ("" for none).
// When the entry cannot be rewritten the acknowledgement is still kept in
// e and in this Spool, so that this process does not send the report to
// that sink again, and the error says that a later process may.
func (s *Spool) Ack(e *Entry, sink, receipt string) error {
	s.mu.Lock()
	now := noteAck(e, sink, receipt)
	s.mu.Unlock()
	if e.path == "" {
		return nil
	}
	err := s.write(e)
	if err != nil {
		s.mu.Lock()
		name := filepath.Base(e.path)
		if s.unrecorded == nil {
			s.unrecorded = map[string]map[string]ack{}
		}
		if s.unrecorded[name] == nil {
			s.unrecorded[name] = map[string]ack{}
		}
		s.unrecorded[name][sink] = ack{at: now, receipt: receipt}
		s.mu.Unlock()
		return fmt.Errorf("%s acknowledged report %s, but the acknowledgement cannot be recorded (a later run may send it again): %w", sink, e.Report.ID, err)
	}
	return nil
}

// mergeUnrecorded adds to e the acknowledgements this process could not
// write.
func (s *Spool) mergeUnrecorded(e *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sink, a := range s.unrecorded[filepath.Base(e.path)] {
		e.Acked[sink] = a.at
		if a.receipt != "" {
			if e.Receipts == nil {
				e.Receipts = Receipts{}
			}
			e.Receipts[sink] = a.receipt
		}
	}
}

// Remove deletes a fully delivered entry, then its lock file.
func (s *Spool) Remove(e *Entry) error {
	if e.path == "" {
		return nil
	}
	if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool entry: %w", err)
	}
	if err := syncDir(s.pending()); err != nil {
		return err
	}
	if e.claim != nil {
		// Held: no one else can be using it; one who opens the path
		// later makes a new one and finds the entry gone.
		os.Remove(lockPath(e.path))
	}
	s.mu.Lock()
	delete(s.unrecorded, filepath.Base(e.path))
	s.mu.Unlock()
	return nil
}

// List returns the pending entries, oldest first, unclaimed. An entry that
// is not a regular file, is larger than MaxEntrySize, does not parse, or
// lacks a report id or a crash, is moved to quarantine/ and returned as an
// error (one for each entry, once); an entry that cannot be read now for
// another reason (permissions) is returned as an error and left in place.
func (s *Spool) List() ([]*Entry, []error) {
	if s == nil {
		return nil, nil
	}
	paths, err := s.scan()
	if err != nil {
		return nil, []error{err}
	}
	var out []*Entry
	var errs []error
	for _, path := range paths {
		e, err := s.load(path)
		switch {
		case err == nil:
			out = append(out, e)
		case errors.Is(err, fs.ErrNotExist): // delivered meanwhile
		default:
			errs = append(errs, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Spooled.Before(out[j].Spooled) })
	return out, errs
}

// scan returns the paths of the entries in pending/, the least recently
// written first, without reading them, and removes leftovers on the way.
func (s *Spool) scan() ([]string, error) {
	des, err := os.ReadDir(s.pending())
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	names := map[string]bool{}
	for _, de := range des {
		names[de.Name()] = true
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".tmp-") || strings.HasSuffix(name, ".lock") {
			s.removeStale(de, names)
			continue
		}
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		var mod time.Time
		if fi, err := de.Info(); err == nil {
			mod = fi.ModTime()
		}
		files = append(files, file{filepath.Join(s.pending(), name), mod})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	return paths, nil
}

// load reads the entry at path, quarantining it when it is not one (the
// error is then the quarantine's one line, or nil when another process
// moved it first: fs.ErrNotExist).
func (s *Spool) load(path string) (*Entry, error) {
	e, err := readEntry(path)
	var bad *badEntryError
	switch {
	case err == nil:
		s.mergeUnrecorded(e)
		return e, nil
	case errors.As(err, &bad):
		if qerr := s.quarantineEntry(path, bad); qerr != nil {
			return nil, qerr
		}
		return nil, fs.ErrNotExist
	}
	return nil, err
}

// staleAfter is the age past which a temporary file or a lock file
// without its entry is a leftover of a process that died: writing an
// entry takes milliseconds.
const staleAfter = 10 * time.Minute

// removeStale removes a leftover: a temporary file of a write that never
// finished, a lock file whose entry is gone (its holder died between the
// two removals) and that no one holds.
func (s *Spool) removeStale(de fs.DirEntry, names map[string]bool) {
	fi, err := de.Info()
	if err != nil || time.Since(fi.ModTime()) < staleAfter {
		return
	}
	path := filepath.Join(s.pending(), de.Name())
	if strings.HasPrefix(de.Name(), ".tmp-") {
		os.Remove(path)
		return
	}
	if names[strings.TrimSuffix(de.Name(), ".lock")+".json"] || !fi.Mode().IsRegular() {
		return
	}
	if lock, err := lockFile(path); err == nil {
		if _, err := os.Lstat(strings.TrimSuffix(path, ".lock") + ".json"); errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
		}
		lock.Close()
	}
}

// badEntryError says why a file in pending/ is not an entry.
type badEntryError struct{ why string }

func (e *badEntryError) Error() string { return e.why }

// readEntry reads an entry safely: not through a symbolic link, without
// blocking on a FIFO or a device, regular files only, up to MaxEntrySize.
func readEntry(path string) (*Entry, error) {
	b, err := readFileSafe(path, MaxEntrySize)
	if err != nil {
		return nil, err
	}
	e := &Entry{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, &badEntryError{fmt.Sprintf("is not a spool entry (%v)", err)}
	}
	if err := checkReport(e.Report); err != nil {
		return nil, &badEntryError{"is not a spool entry (" + strings.TrimPrefix(err.Error(), "notify: ") + ")"}
	}
	if e.Acked == nil {
		e.Acked = map[string]time.Time{}
	}
	e.path = path
	return e, nil
}

// readFileSafe reads a file of the spool. What the file is not (a symbolic
// link, a FIFO, a device, too large) is a *badEntryError.
func readFileSafe(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &badEntryError{"is a symbolic link"}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &badEntryError{fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type())}
	}
	if fi.Size() > limit {
		return nil, &badEntryError{fmt.Sprintf("is larger than %d bytes", limit)}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &badEntryError{fmt.Sprintf("is larger than %d bytes", limit)}
	}
	return b, nil
}

// quarantineEntry moves a bad entry to quarantine/ and prunes it. The
// error returned is the one line to log; nil when another process moved it
// first (and says so).
func (s *Spool) quarantineEntry(path string, why error) error {
	name := filepath.Base(path)
	dst := filepath.Join(s.quarantine(), name)
	if _, err := os.Lstat(dst); err == nil {
		dst = filepath.Join(s.quarantine(), fmt.Sprintf("%s.%d", name, time.Now().UnixNano()))
	}
	if err := os.Rename(path, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("spool entry %s %s, and cannot be moved to quarantine/: %w", name, why, err)
	}
	os.Remove(lockPath(path))
	_ = syncDir(s.pending())
	s.pruneQuarantine()
	return &quarantinedError{fmt.Sprintf("spool entry %s %s; moved to %s, not retried", name, why, dst)}
}

// quarantinedError says that an entry was moved to quarantine/.
type quarantinedError struct{ msg string }

func (e *quarantinedError) Error() string { return e.msg }

// pruneQuarantine removes the oldest files of quarantine/ beyond its limits.
func (s *Spool) pruneQuarantine() {
	maxFiles, maxBytes := s.MaxQuarantineFiles, s.MaxQuarantineBytes
	if maxFiles <= 0 {
		maxFiles = DefaultQuarantineFiles
	}
	if maxBytes <= 0 {
		maxBytes = DefaultQuarantineBytes
	}
	pruneDir(s.quarantine(), maxFiles, maxBytes)
}

// pruneDir removes the oldest entries of dir (by modification time, not
// following links) until at most maxFiles holding maxBytes of disk are
// left.
func pruneDir(dir string, maxFiles int, maxBytes int64) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		name string
		mod  time.Time
		size int64
	}
	var files []file
	var total int64
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".tmp-") {
			continue
		}
		fi, err := de.Info() // lstat
		if err != nil {
			continue
		}
		var size int64 // what it holds on disk: a sparse file costs little
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() {
			size = st.Blocks * 512
		}
		files = append(files, file{de.Name(), fi.ModTime(), size})
		total += size
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	for len(files) > 0 && (len(files) > maxFiles || total > maxBytes) {
		if os.Remove(filepath.Join(dir, files[0].name)) == nil {
			total -= files[0].size
		}
		files = files[1:]
	}
}

// write stores e atomically: temp file, fsync, rename, fsync directory.
func (s *Spool) write(e *Entry) error {
	s.mu.Lock()
	b, err := json.Marshal(e)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode spool entry: %w", err)
	}
	if len(b) > MaxEntrySize {
		return fmt.Errorf("spool entry of %d bytes is larger than %d", len(b), MaxEntrySize)
	}
	return writeFileAtomic(e.path, b)
}

// writeFileAtomic writes path by renaming a new temporary file over it: a
// symbolic link at path is replaced, never followed.
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

// safeName keeps ids usable as file names (and not hidden ones).
func safeName(id string) string {
	if strings.HasPrefix(id, ".") {
		id = "_" + id[1:]
	}
	return strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r == '\\' {
			return '_'
		}
		return r
	}, id)
}
