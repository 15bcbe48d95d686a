package watch_test

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/report"
)

func newReporter(t *testing.T, o watch.ReporterOptions) *watch.Reporter {
	t.Helper()
	if o.Config == nil {
		o.Config = config.Default()
		o.Config.Spool.Dir = filepath.Join(t.TempDir(), "spool")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	r, err := watch.NewReporter(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(nil, time.Time{}) })
	return r
}

// The wrap field and the configuration's service fields are set before
// the program's hook sees the report, so that the hook may change them.
func TestReporterNewFillsTheReportBeforeTheHook(t *testing.T) {
	cfg := config.Default()
	cfg.Spool.Dir = filepath.Join(t.TempDir(), "spool")
	cfg.Service.Name, cfg.Service.Environment, cfg.Service.Release = "api", "staging", "v9"
	var seen report.Report
	r := newReporter(t, watch.ReporterOptions{Config: cfg, Wrap: "monitor", OnReport: func(rep *report.Report) {
		seen = *rep
		rep.Service = "renamed"
	}})
	rep := r.New(report.Input{Exit: report.Exit{Code: 3}})
	if seen.Wrap != "monitor" || seen.Service != "api" || seen.Environment != "staging" || seen.Release != "v9" {
		t.Errorf("the hook saw wrap %q service %q environment %q release %q", seen.Wrap, seen.Service, seen.Environment, seen.Release)
	}
	if rep.Service != "renamed" || rep.Wrap != "monitor" {
		t.Errorf("report service %q wrap %q, want the hook's change kept", rep.Service, rep.Wrap)
	}
}
