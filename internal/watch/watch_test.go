package watch_test

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// runShell runs sh -c script under watch.Run with a fresh spool and stderr
// in a file, and returns the status, stderr and the file sink's reports.
func runShell(t *testing.T, script string, onReport func(*report.Report)) (int, string, []*report.Report) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Spool.Dir = filepath.Join(dir, "spool")
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	code, err := watch.Run(watch.Options{
		Config:   cfg,
		Path:     "/bin/sh",
		Args:     []string{"-c", script},
		Env:      []string{"PATH=/usr/bin:/bin"},
		Stderr:   stderr,
		OnReport: onReport,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(stderr.Name())
	reps := reporttest.Reports(t, filepath.Join(cfg.Spool.Dir, "reports"))
	return code, string(out), reps
}

func TestRunReturnsTheStatusAndReports(t *testing.T) {
	code, stderr, reps := runShell(t, "echo 'panic: boom' >&2; echo '' >&2; echo 'goroutine 1 [running]:' >&2; echo 'main.main()' >&2; echo '	/src/main.go:3 +0x1' >&2; exit 2", nil)
	if code != 2 || len(reps) != 1 {
		t.Fatalf("status %d, %d reports\n%s", code, len(reps), stderr)
	}
	if r := reps[0]; r.Crash.Kind != parse.KindPanic || r.Crash.Message != "boom" || r.Exit.Code != 2 || r.Command.Path != "/bin/sh" {
		t.Errorf("report %+v %+v", r.Crash, r.Exit)
	}
	if !strings.HasPrefix(stderr, "panic: boom\n") || !strings.Contains(stderr, "prodwrap: report ") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestStacksWithoutHeaderAreJudgedByTheExitStatus: a child whose output
// lost its "panic: " line (here cut by a pipeline inside the child) leaves
// a running goroutine's stack; status 2, the Go runtime's, makes it an
// inferred panic, status 1 a plain exit with the stack as log text.
func TestStacksWithoutHeaderAreJudgedByTheExitStatus(t *testing.T) {
	const stack = "printf 'goroutine 1 [running]:\\nmain.main()\\n\\t/src/main.go:3 +0x1\\n' >&2; "
	for _, tt := range []struct {
		status int
		kind   parse.Kind
	}{{2, parse.KindPanic}, {1, parse.KindExit}} {
		code, stderr, reps := runShell(t, stack+"exit "+string(rune('0'+tt.status)), nil)
		if code != tt.status || len(reps) != 1 {
			t.Fatalf("exit %d: status %d, %d reports\n%s", tt.status, code, len(reps), stderr)
		}
		r := reps[0]
		if r.Crash.Kind != tt.kind {
			t.Errorf("exit %d: kind %s, want %s", tt.status, r.Crash.Kind, tt.kind)
		}
		if inferred := r.Crash.Inferred != ""; inferred != (tt.kind == parse.KindPanic) {
			t.Errorf("exit %d: inferred %q", tt.status, r.Crash.Inferred)
		}
		if tt.kind == parse.KindPanic && (r.Crash.TopFrame == nil || r.Crash.TopFrame.Function != "main.main") {
			t.Errorf("exit %d: top frame %+v", tt.status, r.Crash.TopFrame)
		}
	}
}

func TestRunCleanExitIsNotReported(t *testing.T) {
	code, _, reps := runShell(t, "echo 'panic: not really' >&2", nil)
	if code != 0 || len(reps) != 0 {
		t.Errorf("status %d, %d reports", code, len(reps))
	}
}

func TestOnReportAddsTags(t *testing.T) {
	code, _, reps := runShell(t, "exit 3", func(r *report.Report) { r.Tags = map[string]string{"team": "payments"} })
	if code != 3 || len(reps) != 1 || reps[0].Tags["team"] != "payments" || reps[0].Crash.Kind != parse.KindExit {
		t.Errorf("status %d, reports %+v", code, reps)
	}
}

// A panicking hook is a bug of the program's; the report goes out as it was.
func TestOnReportPanicStillReports(t *testing.T) {
	code, stderr, reps := runShell(t, "kill -TERM $$", func(*report.Report) { panic("hook bug") })
	if code != 143 || len(reps) != 1 || reps[0].Crash.Kind != parse.KindKilled {
		t.Fatalf("status %d, %d reports", code, len(reps))
	}
	if !strings.Contains(stderr, "OnReport hook") || !strings.Contains(stderr, "hook bug") {
		t.Errorf("the hook's panic is not logged:\n%s", stderr)
	}
}

// A SIGTERM that reaches prodwrap after the child exited, while its report
// is being made (here: in the OnReport hook), is held rather than killing
// prodwrap with the report unwritten, and it ends the restarts as one
// forwarded during the run does.
func TestSignalAfterExitIsHeldAndEndsRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Spool.Dir = filepath.Join(dir, "spool")
	cfg.Process.Restart = "always"
	cfg.Process.RestartDelay = config.Duration(time.Millisecond)
	cfg.Process.MaxRestarts = 3
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	hooks := 0
	code, err := watch.Run(watch.Options{
		Config: cfg,
		Path:   "/bin/sh",
		Args:   []string{"-c", "exit 3"},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stderr: stderr,
		OnReport: func(*report.Report) {
			hooks++
			// probe gets the SIGTERM in the same os/signal delivery as
			// prodwrap's catcher; without the catcher, probe alone would
			// keep the test alive, and the child would be restarted.
			probe := make(chan os.Signal, 1)
			signal.Notify(probe, syscall.SIGTERM)
			defer signal.Stop(probe)
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Error(err)
			}
			<-probe
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(stderr.Name())
	reps := reporttest.Reports(t, filepath.Join(cfg.Spool.Dir, "reports"))
	if code != 3 || hooks != 1 || len(reps) != 1 {
		t.Fatalf("status %d, %d hook calls, %d reports; want 3, 1, 1 (no restart)\n%s", code, hooks, len(reps), out)
	}
	if !strings.Contains(string(out), "signal received after the child exited") || !strings.Contains(string(out), "SIGTERM") {
		t.Errorf("the held signal is not logged:\n%s", out)
	}
}

func TestStartFailureIsNotAnError(t *testing.T) {
	cfg := config.Default()
	cfg.Spool.Dir = t.TempDir()
	stderr, _ := os.Create(filepath.Join(t.TempDir(), "stderr"))
	defer stderr.Close()
	code, err := watch.Run(watch.Options{Config: cfg, Path: "/nonexistent/cmd", Stderr: stderr})
	if code != 127 || err != nil {
		t.Errorf("Run = %d, %v; want 127 and no error", code, err)
	}
}

func TestBadSignalListIsAnError(t *testing.T) {
	cfg := config.Default()
	cfg.Spool.Dir = t.TempDir()
	cfg.Process.ForwardSignals = []string{"SIGNOPE"}
	if code, err := watch.Run(watch.Options{Config: cfg, Path: "/bin/true"}); err == nil || code != watch.ExitFailure {
		t.Errorf("Run = %d, %v", code, err)
	}
}

func TestExit(t *testing.T) {
	e := watch.Exit(137, syscall.SIGKILL, false, 1500*time.Millisecond)
	if e.Code != 137 || e.Signal == nil || *e.Signal != "SIGKILL" || e.SignalNumber != 9 || e.UptimeMS != 1500 {
		t.Errorf("%+v", e)
	}
	if e := watch.Exit(3, 0, false, 0); e.Signal != nil || e.SignalNumber != 0 {
		t.Errorf("%+v", e)
	}
}

func TestDumpDetectorKeepsTheHead(t *testing.T) {
	d := watch.DumpDetector()
	for _, tt := range []struct {
		line string
		want bool
	}{
		{"log line", false},
		{"panic: boom", true},
		{"goroutine 5 [running]:", false}, // after a cut, only a new header starts a capture
		{"fatal error: again", true},
	} {
		if got := d([]byte(tt.line)); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.line, got, tt.want)
		}
	}
}

// Giving up is news: after max_restarts, Slack gets the first crash, the
// give-up message, and the summary of the crashes flood control held back
// — at once, not at some later start.
func TestGivingUpPostsTheFloodSummary(t *testing.T) {
	loop := testreceiver.StartSlack(t, nil)
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Spool.Dir = filepath.Join(dir, "spool")
	cfg.Service.Name = "api"
	cfg.Slack.WebhookURL = config.Secret(loop.WebhookURL())
	cfg.Process.Restart = "on-failure"
	cfg.Process.MaxRestarts = 2
	cfg.Process.RestartDelay = config.Duration(time.Millisecond)
	cfg.Process.RestartMaxDelay = config.Duration(time.Millisecond)
	stderr, _ := os.Create(filepath.Join(dir, "stderr"))
	defer stderr.Close()
	code, err := watch.Run(watch.Options{Config: cfg, Path: "/bin/sh", Args: []string{"-c", "exit 3"}, Env: []string{"PATH=/usr/bin:/bin"}, Stderr: stderr})
	if err != nil || code != 3 {
		t.Fatalf("Run: %d, %v", code, err)
	}
	var texts []string
	for _, m := range loop.WebhookMessages() {
		texts = append(texts, m.Text)
	}
	out, _ := os.ReadFile(stderr.Name())
	if len(texts) != 3 || !strings.Contains(texts[1], "gave up restarting api") || !strings.Contains(texts[2], "crashed 3 times") {
		t.Fatalf("Slack got %d messages %q, want the first crash, the give-up, the summary of 3\n%s", len(texts), texts, out)
	}
}

// With nowhere to keep a report — the spool and the file sink's directory
// both unusable, no other sink — the child still runs and its status is
// returned (fail-open); strict refuses.
func TestNowhereToReportStillRunsTheChild(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	os.WriteFile(notADir, nil, 0o600)
	marker := filepath.Join(dir, "ran")
	for _, strict := range []bool{false, true} {
		cfg := config.Default()
		cfg.Spool.Dir = filepath.Join(notADir, "spool")
		cfg.File.Dir = filepath.Join(notADir, "reports")
		cfg.Strict = strict
		stderr, _ := os.Create(filepath.Join(t.TempDir(), "stderr"))
		code, err := watch.Run(watch.Options{Config: cfg, Path: "/bin/sh", Args: []string{"-c", "touch " + marker + "; exit 3"}, Env: []string{"PATH=/usr/bin:/bin"}, Stderr: stderr})
		out, _ := os.ReadFile(stderr.Name())
		stderr.Close()
		_, ran := os.Stat(marker)
		switch {
		case !strict && (err != nil || code != 3 || ran != nil):
			t.Errorf("fail-open: status %d, err %v, child ran: %v\n%s", code, err, ran == nil, out)
		case !strict && !strings.Contains(string(out), "no sink can take reports"):
			t.Errorf("fail-open: the trouble is not logged:\n%s", out)
		case strict && (err == nil || code != watch.ExitFailure):
			t.Errorf("strict: status %d, err %v, want %d and an error", code, err, watch.ExitFailure)
		}
		os.Remove(marker)
	}
}
