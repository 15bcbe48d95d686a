package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prodwrap/prodwrap/report"
)

// File is the file sink: each report as <dir>/<UTC time>-<id>.json.
type File struct {
	dir string
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
	return nil
}

// Dir is the report directory.
func (f *File) Dir() string { return f.dir }
