package watch_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/report"
)

// BenchmarkReportOf10000Goroutines: what prodwrap does after a child that
// dumped 10,000 goroutines died (docs/benchmarks.md, the dump phase of
// issue 18), with the default configuration (the file sink): the build
// information of the child's binary, the parse of its dump read from a
// file (as from a spill file), the report, and its delivery (the spool
// entry, fsynced, the file sink's file, the entry's removal).
func BenchmarkReportOf10000Goroutines(b *testing.B) {
	bin := zoo.Build(b, zoo.Plain)
	dump := filepath.Join(b.TempDir(), "dump.txt")
	zoo.WriteManyGoroutinesDump(b, bin, dump, 10_000)
	st, err := os.Stat(dump)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cfg := config.Default()
		cfg.Spool.Dir = filepath.Join(b.TempDir(), "spool")
		r, err := watch.NewReporter(watch.ReporterOptions{Config: cfg, Log: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		build, err := watch.ReadBuild(bin)
		if err != nil {
			b.Fatal(err)
		}
		in, err := os.Open(dump)
		if err != nil {
			b.Fatal(err)
		}
		c := watch.ParseCrash(in, build, 2, 0, r.Logger())
		if c == nil {
			b.Fatal("no crash parsed")
		}
		output := make([]byte, report.MaxOutput)
		if _, err := in.ReadAt(output, 0); err != nil {
			b.Fatal(err)
		}
		in.Close()
		rep := r.New(report.Input{Crash: c, Exit: watch.Exit(2, 0, false, time.Second), Path: bin,
			Args: []string{"many-goroutines", "10000"}, PID: 1, Output: output, OutputTruncated: true, Build: build})
		out := r.Deliver(context.Background(), rep)
		if out == nil || !out.Complete() {
			b.Fatalf("report not delivered: %+v", out)
		}

		b.StopTimer()
		r.Close(nil, time.Time{})
		b.StartTimer()
	}
}
