package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/prodwrap/prodwrap/report"
)

// Defaults of the file sink's retention.
const (
	DefaultReportFiles = 1000
	DefaultReportBytes = 256 << 20
)

// File is the file sink: each report as <dir>/<UTC time>-<id>.json. It is
// safe for use by several goroutines.
type File struct {
	dir string

	// MaxFiles and MaxBytes bound the reports the sink keeps: after each
	// report written, the oldest of its reports (by the time in their
	// names) are removed beyond either; 0 means DefaultReportFiles and
	// DefaultReportBytes. Files of other names in the directory are
	// never touched. Set them before the sink is used.
	MaxFiles int
	MaxBytes int64
}

var _ Sink = (*File)(nil)

// NewFile returns the file sink writing to dir, which it creates.
func NewFile(dir string) (*File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("report directory %s: %w", dir, err)
	}
	return &File{dir: dir}, nil
}

// Name is "file".
func (f *File) Name() string { return "file" }

// Path is where r is (or will be) written.
func (f *File) Path(r *report.Report) string {
	stamp := r.Time.UTC().Format("20060102T150405.000000000Z")
	return filepath.Join(f.dir, stamp+"-"+safeName(r.ID)+".json")
}

// Notify writes r atomically; a report already written is left as it is.
func (f *File) Notify(_ context.Context, r *report.Report) error {
	path := f.Path(r)
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("file: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("file: encode report: %w: %w", err, ErrPermanent)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("file: %w", err)
	}
	f.prune()
	return nil
}

// prune removes the oldest reports beyond the retention limits.
func (f *File) prune() {
	maxFiles, maxBytes := f.MaxFiles, f.MaxBytes
	if maxFiles <= 0 {
		maxFiles = DefaultReportFiles
	}
	if maxBytes <= 0 {
		maxBytes = DefaultReportBytes
	}
	des, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	type file struct {
		name string
		size int64
	}
	var files []file // ReadDir sorts by name: by time, the oldest first
	var total int64
	for _, de := range des {
		if !isReportName(de.Name()) || !de.Type().IsRegular() {
			continue
		}
		var size int64
		if fi, err := de.Info(); err == nil {
			size = fi.Size()
		}
		files = append(files, file{de.Name(), size})
		total += size
	}
	for len(files) > 1 && (len(files) > maxFiles || total > maxBytes) {
		if os.Remove(filepath.Join(f.dir, files[0].name)) == nil {
			total -= files[0].size
		}
		files = files[1:]
	}
}

// isReportName reports whether name is one Path gives:
// 20060102T150405.000000000Z-<id>.json.
func isReportName(name string) bool {
	const stamp = "dddddddd" + "T" + "dddddd" + "." + "ddddddddd" + "Z-"
	if len(name) <= len(stamp)+len(".json") || !strings.HasSuffix(name, ".json") {
		return false
	}
	for i := range len(stamp) {
		if c := name[i]; stamp[i] == 'd' && (c < '0' || c > '9') || stamp[i] != 'd' && c != stamp[i] {
			return false
		}
	}
	return true
}
