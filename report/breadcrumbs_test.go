package report_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/report"
)

func TestBreadcrumbsFromLogfmt(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []report.Breadcrumb
	}{
		{
			name: "slog TextHandler",
			line: `time=2026-11-30T10:00:00.000+01:00 level=WARN msg="disk almost full" free_mb=12 path=/var`,
			want: []report.Breadcrumb{{Time: "2026-11-30T09:00:00Z", Level: "warn", Message: "disk almost full",
				Fields: map[string]any{"free_mb": "12", "path": "/var"}}},
		},
		{
			name: "logrus text",
			line: `time="2026-11-30T10:00:00Z" level=info msg="request served" status=200`,
			want: []report.Breadcrumb{{Time: "2026-11-30T10:00:00Z", Level: "info", Message: "request served",
				Fields: map[string]any{"status": "200"}}},
		},
		{
			name: "behind a journald prefix",
			line: `Dec 01 10:00:00 host api[12]: level=error msg=failed err="dial tcp: timeout"`,
			want: []report.Breadcrumb{{Level: "error", Message: "failed", Fields: map[string]any{"err": "dial tcp: timeout"}}},
		},
		{
			name: "JSON behind a journald prefix",
			line: `Dec 01 10:00:00 host api[12]: {"time":"2026-12-01T10:00:00Z","level":"WARN","msg":"slow query","ms":812}`,
			want: []report.Breadcrumb{{Time: "2026-12-01T10:00:00Z", Level: "warn", Message: "slow query", Fields: map[string]any{"ms": float64(812)}}},
		},
		{
			name: "JSON behind a Kubernetes CRI prefix",
			line: `2026-12-01T10:00:00.000000001Z stderr F {"level":"info","msg":"ready"}`,
			want: []report.Breadcrumb{{Level: "info", Message: "ready"}},
		},
		{
			name: "logfmt behind a Kubernetes CRI prefix",
			line: `2026-12-01T10:00:00.000000001Z stderr F level=info msg=ready port=8080`,
			want: []report.Breadcrumb{{Level: "info", Message: "ready", Fields: map[string]any{"port": "8080"}}},
		},
		{name: "plain text", line: `starting server on :8080`},
		{name: "plain text with an equals sign", line: `retrying with backoff=2s`},
		{name: "unterminated quote", line: `level=info msg="half`},
		{name: "panic header", line: `panic: runtime error: index out of range [3] with length 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := report.Breadcrumbs([]string{tt.line})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Breadcrumbs(%q) mismatch (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// A real slog TextHandler line before a panic is a breadcrumb; the dump's
// lines are not.
func TestBreadcrumbsFromSlogTextBeforeAPanic(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cache warmed", "entries", 42, "took", "1.5s")
	log := buf.String() + "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:7 +0x25\n"
	got := report.Breadcrumbs(strings.Split(strings.TrimSpace(log), "\n"))
	if len(got) != 1 {
		t.Fatalf("got %d breadcrumbs, want 1: %+v", len(got), got)
	}
	if got[0].Message != "cache warmed" || got[0].Level != "info" || got[0].Time == "" {
		t.Errorf("breadcrumb = %+v", got[0])
	}
	if diff := cmp.Diff(map[string]any{"entries": "42", "took": "1.5s"}, got[0].Fields); diff != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", diff)
	}
}
