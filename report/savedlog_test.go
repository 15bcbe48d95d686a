package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/report"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name           string
		lines, maxLine int
		writes         []string
		want           []string
	}{
		{name: "empty", lines: 3, maxLine: 10, want: []string{}},
		{name: "fewer than kept", lines: 3, maxLine: 10, writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "last lines", lines: 2, maxLine: 10, writes: []string{"a\nb\nc\nd\n"}, want: []string{"c", "d"}},
		{name: "split across writes", lines: 3, maxLine: 10, writes: []string{"he", "llo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "last line without newline", lines: 3, maxLine: 10, writes: []string{"a\nb"}, want: []string{"a", "b"}},
		{name: "crlf", lines: 3, maxLine: 10, writes: []string{"a\r\n"}, want: []string{"a"}},
		{name: "empty lines kept", lines: 3, maxLine: 10, writes: []string{"a\n\nb\n"}, want: []string{"a", "", "b"}},
		{name: "cut at max line", lines: 3, maxLine: 4, writes: []string{"abcdefgh\nxy\n"}, want: []string{"abcd…", "xy"}},
		{name: "cut across writes", lines: 3, maxLine: 4, writes: []string{"abc", "defgh", "ij\n"}, want: []string{"abcd…"}},
		{name: "cut between characters", lines: 3, maxLine: 4, writes: []string{"abcü\n"}, want: []string{"abc…"}},
		{name: "none kept", lines: 0, maxLine: 4, writes: []string{"a\n"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tail := report.NewTail(tt.lines, tt.maxLine)
			for _, w := range tt.writes {
				tail.Write([]byte(w))
			}
			if diff := cmp.Diff(tt.want, tail.Lines()); diff != "" {
				t.Errorf("Lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTailMemoryIsBounded(t *testing.T) {
	tail := report.NewTail(2, 8)
	line := []byte(strings.Repeat("x", 1<<20))
	for range 16 {
		tail.Write(line)
	}
	tail.Write([]byte("\nend\n"))
	if diff := cmp.Diff([]string{"xxxxxxxx…", "end"}, tail.Lines()); diff != "" {
		t.Errorf("Lines mismatch (-want +got):\n%s", diff)
	}
}

func TestLineTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	jan := time.Date(2027, 1, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		line   string
		now    time.Time
		want   time.Time
		wantOK bool
	}{
		{name: "rfc3339", line: "2026-11-30T10:00:00.123Z panic: boom", want: time.Date(2026, 11, 30, 10, 0, 0, 123e6, time.UTC), wantOK: true},
		{name: "rfc3339 offset", line: "2026-11-30T10:00:00+01:00 panic: boom", want: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), wantOK: true},
		{name: "kubernetes cri", line: "2024-01-01T00:00:00.000000001Z stderr F panic: boom", want: time.Date(2024, 1, 1, 0, 0, 0, 1, time.UTC), wantOK: true},
		{name: "journald short-iso", line: "2026-11-30T10:00:00+0100 host api[12]: panic: boom", want: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), wantOK: true},
		{name: "journald short", line: "Dec 01 10:00:00 host api[12]: panic: boom", want: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), wantOK: true},
		{name: "syslog padded day", line: "Nov  3 10:00:00 host api[12]: panic: boom", want: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), wantOK: true},
		{name: "journald short-precise", line: "Dec 01 10:00:00.250000 host api[12]: panic: boom", want: time.Date(2026, 12, 1, 10, 0, 0, 250e6, time.UTC), wantOK: true},
		{name: "journald last year", line: "Dec 31 23:00:00 host api[12]: panic: boom", now: jan, want: time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), wantOK: true},
		{name: "slog json", line: `{"time":"2026-11-30T10:00:00.5+01:00","level":"ERROR","msg":"x"}`, want: time.Date(2026, 11, 30, 9, 0, 0, 5e8, time.UTC), wantOK: true},
		{name: "docker json", line: `{"log":"panic: boom\n","stream":"stderr","time":"2026-11-30T10:00:00.000000001Z"}`, want: time.Date(2026, 11, 30, 10, 0, 0, 1, time.UTC), wantOK: true},
		{name: "zap json ts", line: `{"ts":1732442400.5,"msg":"x"}`, want: time.Date(2024, 11, 24, 10, 0, 0, 5e8, time.UTC), wantOK: true},
		{name: "no prefix", line: "panic: boom"},
		{name: "json without time", line: `{"msg":"x"}`},
		{name: "not a date", line: "Mon is a day"},
		{name: "empty", line: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.now
			if n.IsZero() {
				n = now
			}
			got, ok := report.LineTime(tt.line, n)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("LineTime(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
