package report_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

func TestMaskArgs(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"--port", "8080"}, []string{"--port", "8080"}},
		{[]string{"--password=hunter2", "-v"}, []string{"--password=***", "-v"}},
		{[]string{"--api-key", "abc123", "--name", "x"}, []string{"--api-key", "***", "--name", "x"}},
		{[]string{"token=s3cr3t", "user=bob"}, []string{"token=***", "user=bob"}},
		{[]string{"--db=postgres://app:pa55@db:5432/x"}, []string{"--db=postgres://app:***@db:5432/x"}},
		{[]string{"https://u:p@host/path"}, []string{"https://u:***@host/path"}},
		{[]string{"--sentry-dsn", "https://key@o1.ingest/2"}, []string{"--sentry-dsn", "***"}},
		{[]string{"-SESSION_SECRET=x"}, []string{"-SESSION_SECRET=***"}},
	}
	for _, tt := range tests {
		got := report.MaskArgs(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("MaskArgs(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		for _, secret := range []string{"hunter2", "abc123", "s3cr3t", "pa55", "https://key@"} {
			if strings.Contains(strings.Join(got, " "), secret) {
				t.Errorf("MaskArgs(%q) leaked %q", tt.in, secret)
			}
		}
	}
}

func crashOf(t *testing.T, dump string) *parse.Crash {
	t.Helper()
	c, err := parse.Parse(strings.NewReader(dump), parse.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const dumpA = `panic: runtime error: index out of range [5] with length 3

goroutine 7 [running]:
main.(*Server).handle(0xc000010000, 0x5)
	/src/api/server.go:42 +0x1d
main.(*Server).serve.func1()
	/src/api/server.go:30 +0x55
created by main.(*Server).serve in goroutine 1
	/src/api/server.go:29 +0x99
`

func TestFingerprintStable(t *testing.T) {
	// The same bug on another host: other addresses, goroutine ids, index.
	dumpB := strings.NewReplacer("0xc000010000", "0xc0000a2000", "+0x1d", "+0x1d", "goroutine 7", "goroutine 4242", "[5] with length 3", "[9] with length 8").Replace(dumpA)
	a, b := report.Fingerprint(crashOf(t, dumpA)), report.Fingerprint(crashOf(t, dumpB))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("fingerprints of the same bug differ (-a +b):\n%s", diff)
	}
	want := []string{"panic", "runtime error: index out of range [<n>] with length <n>", "main.(*Server).handle", "main.(*Server).serve.func1"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("fingerprint mismatch (-want +got):\n%s", diff)
	}
	other := strings.Replace(dumpA, "main.(*Server).handle", "main.(*Server).other", 1)
	if cmp.Equal(a, report.Fingerprint(crashOf(t, other))) {
		t.Errorf("different bugs share the fingerprint %q", a)
	}
}

func TestBreadcrumbsFromRealLoggers(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Warn("disk almost full", "free_mb", 12)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	lines = append(lines,
		`{"level":"error","ts":1732442400.5,"caller":"api/main.go:12","msg":"zap says hi"}`,
		`{"level":"info","msg":"logrus line","time":"2026-11-24T10:00:00+01:00"}`,
		`{"level":"debug","time":"2026-11-24T10:00:00Z","message":"zerolog line"}`,
		`plain text line`,
		`{"no":"message"}`,
	)
	got := report.Breadcrumbs(lines)
	if len(got) != 4 {
		t.Fatalf("got %d breadcrumbs, want 4: %+v", len(got), got)
	}
	if got[0].Message != "disk almost full" || got[0].Level != "warn" || got[0].Fields["free_mb"] != 12.0 {
		t.Errorf("slog breadcrumb = %+v", got[0])
	}
	if _, err := time.Parse(time.RFC3339Nano, got[0].Time); err != nil {
		t.Errorf("slog time %q is not RFC 3339: %v", got[0].Time, err)
	}
	if got[1].Time != "2024-11-24T10:00:00.5Z" || got[1].Message != "zap says hi" {
		t.Errorf("zap breadcrumb = %+v", got[1])
	}
	if got[2].Time != "2026-11-24T09:00:00Z" {
		t.Errorf("logrus time = %q, want UTC", got[2].Time)
	}
	if got[3].Message != "zerolog line" || got[3].Level != "debug" {
		t.Errorf("zerolog breadcrumb = %+v", got[3])
	}
}

func TestNewHasEveryContractField(t *testing.T) {
	r := report.New(report.Input{
		Crash:    crashOf(t, dumpA),
		Exit:     report.Exit{Code: 2, UptimeMS: 5},
		Path:     "/srv/api",
		Args:     []string{"--port", "8080", "--token", "t0k"},
		PID:      1234,
		Tail:     []string{"starting"},
		Output:   []byte(dumpA),
		Build:    report.Build{MainModule: "example.com/api", Version: "v1.2.3"},
		Now:      func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 5, time.FixedZone("X", 3600)) },
		Hostname: func() (string, error) { return "host-a", nil },
		NewID:    func() string { return "id-1" },
	})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"schema", "id", "time", "service", "environment", "release", "host", "command", "build", "exit", "crash", "log_tail", "fingerprint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q", k)
		}
	}
	crash := m["crash"].(map[string]any)
	for _, k := range []string{"kind", "crashing", "message", "repanicked", "signal", "goroutine", "top_frame", "origin", "culprit", "goroutines", "buckets", "truncated"} {
		if _, ok := crash[k]; !ok {
			t.Errorf("crash JSON lacks %q", k)
		}
	}
	if m["schema"] != "prodwrap.report/1" || m["time"] != "2026-11-24T09:00:00.000000005Z" || m["service"] != "api" || m["release"] != "example.com/api@v1.2.3" {
		t.Errorf("schema/time/service/release = %v %v %v %v", m["schema"], m["time"], m["service"], m["release"])
	}
	if slices.Contains(r.Command.Args, "t0k") {
		t.Errorf("token in report args: %q", r.Command.Args)
	}
}

func TestExitCrash(t *testing.T) {
	kill, term := "SIGKILL", "SIGTERM"
	tests := []struct {
		exit report.Exit
		oom  bool
		kind parse.Kind
		msg  string
	}{
		{report.Exit{Code: 3}, false, parse.KindExit, "exit status 3"},
		{report.Exit{Code: 143, Signal: &term}, false, parse.KindKilled, "killed by SIGTERM"},
		{report.Exit{Code: 137, Signal: &kill}, true, parse.KindOOM, "killed by the OOM killer (SIGKILL, the cgroup counted an OOM kill)"},
		{report.Exit{Code: 137, Signal: &kill}, false, parse.KindKilled, "killed by SIGKILL"},
	}
	for _, tt := range tests {
		c := report.ExitCrash(tt.exit, tt.oom)
		if c.Kind != tt.kind || c.Message != tt.msg {
			t.Errorf("ExitCrash(%+v, %v) = %s %q, want %s %q", tt.exit, tt.oom, c.Kind, c.Message, tt.kind, tt.msg)
		}
	}
}
