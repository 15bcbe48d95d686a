package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// prefixed puts prefix before each line of text.
func prefixed(prefix, text string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

const logBefore = `starting server on :8080
time=2026-11-30T09:59:59.500Z level=WARN msg="disk almost full" free_mb=12
{"time":"2026-11-30T09:59:59.750Z","level":"INFO","msg":"request served","status":200}
`

// Issue 15's acceptance: `prodwrap parse` on a journald-prefixed and a
// Kubernetes-prefixed saved log keeps the lines before the dump as the log
// tail, the logfmt and the JSON one as breadcrumbs (behind the prefix too),
// and takes the report's time from
// the crash line's timestamp.
func TestParseSavedLog(t *testing.T) {
	journald := time.Date(time.Now().Year(), 11, 30, 10, 0, 0, 0, time.Local)
	if journald.After(time.Now().Add(24 * time.Hour)) {
		journald = journald.AddDate(-1, 0, 0) // journald short has no year: the last Nov 30
	}
	tests := []struct {
		name     string
		log      string
		wantTail []string
		wantTime time.Time
	}{
		{
			name: "journald short",
			log: prefixed("Nov 30 09:59:58 host api[12]: ", logBefore) +
				prefixed("Nov 30 10:00:00 host api[12]: ", dump),
			wantTail: []string{
				"Nov 30 09:59:58 host api[12]: starting server on :8080",
				`Nov 30 09:59:58 host api[12]: time=2026-11-30T09:59:59.500Z level=WARN msg="disk almost full" free_mb=12`,
				`Nov 30 09:59:58 host api[12]: {"time":"2026-11-30T09:59:59.750Z","level":"INFO","msg":"request served","status":200}`,
			},
			wantTime: journald.UTC(),
		},
		{
			name: "kubernetes cri",
			log: prefixed("2026-11-30T09:59:58.000000000Z stderr F ", logBefore) +
				prefixed("2026-11-30T10:00:00.123456789Z stderr F ", dump),
			wantTail: []string{
				"2026-11-30T09:59:58.000000000Z stderr F starting server on :8080",
				`2026-11-30T09:59:58.000000000Z stderr F time=2026-11-30T09:59:59.500Z level=WARN msg="disk almost full" free_mb=12`,
				`2026-11-30T09:59:58.000000000Z stderr F {"time":"2026-11-30T09:59:59.750Z","level":"INFO","msg":"request served","status":200}`,
			},
			wantTime: time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC),
		},
		{
			name:     "no prefix",
			log:      logBefore + dump,
			wantTail: strings.Split(strings.TrimSuffix(logBefore, "\n"), "\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			code, out, stderr := runIn(t, tt.log, nil, "parse")
			if code != 0 {
				t.Fatalf("parse exited %d: %s", code, stderr)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if rep.Crash.Kind != parse.KindPanic || rep.Crash.Message != "boom" {
				t.Errorf("crash = %s %q, want panic boom", rep.Crash.Kind, rep.Crash.Message)
			}
			if diff := cmp.Diff(tt.wantTail, rep.LogTail); diff != "" {
				t.Errorf("log_tail mismatch (-want +got):\n%s", diff)
			}
			if tt.wantTime.IsZero() {
				if rep.Time.Before(before.Add(-time.Second)) {
					t.Errorf("time = %v, want now: the log has no timestamps", rep.Time)
				}
			} else if !rep.Time.Equal(tt.wantTime) {
				t.Errorf("time = %v, want the crash line's %v", rep.Time, tt.wantTime)
			}
			want := []report.Breadcrumb{{Time: "2026-11-30T09:59:59.5Z", Level: "warn", Message: "disk almost full",
				Fields: map[string]any{"free_mb": "12"}},
				{Time: "2026-11-30T09:59:59.75Z", Level: "info", Message: "request served", Fields: map[string]any{"status": float64(200)}}}
			if diff := cmp.Diff(want, rep.Breadcrumbs); diff != "" {
				t.Errorf("breadcrumbs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The lines before the dump of a stream (not a file, read again) come from
// the window of the last bytes read, from its first whole line.
func TestReadSavedFromAStream(t *testing.T) {
	var log strings.Builder
	for i := range 200 {
		log.WriteString(strings.Repeat("x", i%7) + "line\n")
	}
	log.WriteString("last line\n" + dump)
	tests := []struct {
		name   string
		window int
		want   []string
	}{
		{name: "all in the window", window: 1 << 20, want: []string{"xxline", "xxxline", "last line"}},
		{name: "window cut within a line", window: len(dump) + len("last line\n") + 3, want: []string{"last line"}},
		{name: "dump only", window: len(dump), want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := io.NopCloser(strings.NewReader(log.String())) // not a file
			window := &tailWindow{max: tt.window}
			c, err := parse.Parse(io.TeeReader(in, window), parse.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			tail := report.NewTail(3, 4096)
			writeBefore(tail, in, window, c.Start)
			if diff := cmp.Diff(tt.want, tail.Lines()); diff != "" {
				t.Errorf("tail mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A saved log read from a stream has its tail, its dump's output and the
// crash line's time.
func TestReadSavedStream(t *testing.T) {
	log := prefixed("2026-11-30T10:00:00Z stderr F ", logBefore+dump)
	a, err := readSaved(bytes.NewReader([]byte(log)), strings.NewReader(log), parse.DefaultOptions(), logTailOptions{100, 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.tail) != strings.Count(logBefore, "\n") || !strings.HasPrefix(string(a.output), "2026-11-30T10:00:00Z stderr F panic: boom\n") {
		t.Errorf("tail %q, output %q", a.tail, a.output)
	}
	if !a.time.Equal(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("time = %v", a.time)
	}
}

// `prodwrap send` on a saved log reports the same log tail, breadcrumbs
// and time as parse, with the tail bounded by capture.tail_lines.
func TestSendSavedLog(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	log := prefixed("2026-11-30T09:59:58Z stderr F ", "early line\n"+logBefore) +
		prefixed("2026-11-30T10:00:00.5Z stderr F ", dump)
	code, _, errOut := runIn(t, log, []string{"PRODWRAP_SPOOL=" + spool, "PRODWRAP_TAIL_LINES=2"}, "send")
	if code != 0 {
		t.Fatalf("send exited %d\n%s", code, errOut)
	}
	names, _ := filepath.Glob(filepath.Join(spool, "reports", "*.json"))
	if len(names) != 1 {
		t.Fatalf("%d reports in the spool", len(names))
	}
	b, _ := os.ReadFile(names[0])
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	want := []string{ // the last two lines before the dump
		`2026-11-30T09:59:58Z stderr F time=2026-11-30T09:59:59.500Z level=WARN msg="disk almost full" free_mb=12`,
		`2026-11-30T09:59:58Z stderr F {"time":"2026-11-30T09:59:59.750Z","level":"INFO","msg":"request served","status":200}`,
	}
	if diff := cmp.Diff(want, rep.LogTail); diff != "" {
		t.Errorf("log_tail mismatch (-want +got):\n%s", diff)
	}
	if len(rep.Breadcrumbs) != 2 || rep.Breadcrumbs[0].Message != "disk almost full" || rep.Breadcrumbs[1].Message != "request served" {
		t.Errorf("breadcrumbs = %+v", rep.Breadcrumbs)
	}
	if !rep.Time.Equal(time.Date(2026, 11, 30, 10, 0, 0, 5e8, time.UTC)) {
		t.Errorf("time = %v, want the crash line's", rep.Time)
	}
}
