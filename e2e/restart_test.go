package e2e_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/report"
)

// TestRestartOnFailureStopsAtTheCap: a crashing child is restarted with
// growing delays until max_restarts, then prodwrap exits with its status;
// every crash is reported with its restart count.
func TestRestartOnFailureStopsAtTheCap(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	start := time.Now()
	r := prodwrap(t, nil, []string{"PRODWRAP_RESTART=on-failure", "PRODWRAP_RESTART_DELAY=100ms", "PRODWRAP_MAX_RESTARTS=3", "PRODWRAP_LOG_FORMAT=json"},
		"--", crasher, "nil-deref")
	took := time.Since(start)
	if r.code != 2 {
		t.Errorf("exit %d, want the last child's 2", r.code)
	}
	reps, gaveUp := crashReports(r.reports(t))
	if len(reps) != 4 {
		t.Fatalf("%d crash reports, want 4 (the first run and 3 restarts)\n%s", len(reps), r.stderr)
	}
	if len(gaveUp) != 1 || gaveUp[0].GaveUp.Restarts != 3 || gaveUp[0].GaveUp.LastReport != reps[len(reps)-1].ID {
		t.Errorf("want one give-up report after the last crash, with 3 restarts; got %d", len(gaveUp))
	}
	var restarts []int
	for _, rep := range reps {
		restarts = append(restarts, rep.Restart)
	}
	sort.Ints(restarts)
	if restarts[0] != 0 || restarts[3] != 3 {
		t.Errorf("restart counts %v, want 0 to 3", restarts)
	}
	// Delays of 100, 200 and 400 ms (plus up to a quarter of jitter) at least.
	if took < 700*time.Millisecond {
		t.Errorf("3 restarts took %v; the backoff did not grow", took)
	}
	if !bytes.Contains(r.stderr, []byte(`"msg":"giving up: too many restarts"`)) {
		t.Errorf("no give-up line:\n%s", r.stderr)
	}
}

// TestRestartAlwaysAfterCleanExit: with always, exit 0 restarts too.
func TestRestartAlwaysAfterCleanExit(t *testing.T) {
	marks := filepath.Join(t.TempDir(), "runs")
	r := prodwrap(t, nil, []string{"PRODWRAP_RESTART=always", "PRODWRAP_RESTART_DELAY=10ms", "PRODWRAP_MAX_RESTARTS=2"},
		"--", "/bin/sh", "-c", "echo run >> "+marks)
	b, _ := os.ReadFile(marks)
	if r.code != 0 || strings.Count(string(b), "run") != 3 {
		t.Errorf("exit %d after %d runs, want 0 after 3", r.code, strings.Count(string(b), "run"))
	}
	if reps := r.reports(t); len(reps) != 0 {
		t.Errorf("%d reports for clean exits", len(reps))
	}
}

// TestNeverIsTheDefault: without a policy the child runs once.
func TestNeverIsTheDefault(t *testing.T) {
	marks := filepath.Join(t.TempDir(), "runs")
	r := prodwrap(t, nil, nil, "--", "/bin/sh", "-c", "echo run >> "+marks+"; exit 5")
	b, _ := os.ReadFile(marks)
	if r.code != 5 || strings.Count(string(b), "run") != 1 {
		t.Errorf("exit %d after %d runs, want 5 after 1", r.code, strings.Count(string(b), "run"))
	}
}

// TestSIGTERMDuringBackoffExitsAtOnce: a SIGTERM while prodwrap waits to
// restart ends it with 128+15 and starts no new child.
func TestSIGTERMDuringBackoffExitsAtOnce(t *testing.T) {
	marks := filepath.Join(t.TempDir(), "runs")
	cmd := command(t, prodwrapBin(t), "--", "/bin/sh", "-c", "echo run >> "+marks+"; exit 1")
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir(), "PRODWRAP_RESTART=on-failure", "PRODWRAP_RESTART_DELAY=30s", "PRODWRAP_FILE=false")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, _ := os.ReadFile(marks); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the first run ends, the 30 s backoff begins
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	code := exitCode(t, cmd.Wait())
	if code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want 143", code)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("prodwrap took %v to stop during a backoff", time.Since(start))
	}
	if b, _ := os.ReadFile(marks); strings.Count(string(b), "run") != 1 {
		t.Errorf("%d runs, want 1: no child after the SIGTERM", strings.Count(string(b), "run"))
	}
}

// TestSIGTERMDuringARunningChildIsNotRestarted: a SIGTERM to prodwrap
// reaches the running child, which dies of it; even under on-failure
// prodwrap then exits 143 instead of starting it again.
func TestSIGTERMDuringARunningChildIsNotRestarted(t *testing.T) {
	marks := filepath.Join(t.TempDir(), "runs")
	cmd := command(t, prodwrapBin(t), "--", "/bin/sh", "-c", "echo run >> "+marks+"; echo ready; exec sleep 30")
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir(), "PRODWRAP_RESTART=on-failure", "PRODWRAP_RESTART_DELAY=10ms")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	out.Read(buf)
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	if b, _ := os.ReadFile(marks); strings.Count(string(b), "run") != 1 {
		t.Errorf("%d runs, want 1", strings.Count(string(b), "run"))
	}
}

// crashReports splits a file sink's reports into the crash reports and
// the give-up reports, each in order.
func crashReports(all []*report.Report) (crashes, gaveUp []*report.Report) {
	for _, r := range all {
		if r.GaveUp != nil {
			gaveUp = append(gaveUp, r)
		} else {
			crashes = append(crashes, r)
		}
	}
	return crashes, gaveUp
}
