package e2e_test

// Issue 12, acceptance: a broken output pipe never kills prodwrap or its
// child; delivery never holds back a restart; giving up is reported; the
// configuration's bounds are checked; a grandchild holding stderr cuts the
// output, and the report says so. The helpers are in signals_test.go.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// hangGuard bounds runs that must end by themselves; it is not a speed
// bound, only what keeps a hung prodwrap from hanging the test.
const hangGuard = time.Minute

// TestBrokenOutputPipeKillsNeitherProdwrapNorTheChild: prodwrap's stdout
// and stderr are one pipe whose reader goes away after one byte. The
// child ignores SIGPIPE, writes 4 MiB to each of stdout and stderr, then
// creates a marker and exits 1: it runs to completion, prodwrap exits with
// its 1, and the report is made from the stderr prodwrap kept reading.
func TestBrokenOutputPipeKillsNeitherProdwrapNorTheChild(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	t.Run("shell pipeline into head -c1", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		spool, marker, status := filepath.Join(dir, "spool"), filepath.Join(dir, "marker"), filepath.Join(dir, "status")
		script := `{ "$0" --spool "$1" -- "$2" sigpipe-writer "$3" 2>&1; echo $? > "$4"; } | head -c1 > /dev/null`
		sh := command(t, "/bin/sh", "-c", script, prodwrapBin(t), spool, crasher, marker, status)
		sh.Env = append(os.Environ(), "PRODWRAP_LOG_FORMAT=json")
		out := createFile(t, filepath.Join(dir, "sh.out"))
		sh.Stdout, sh.Stderr = out, out
		// The shell leads a process group of its own: a hung pipeline is
		// killed whole, prodwrap and head with it.
		sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		w := &watched{cmd: sh, spool: spool, stderrPath: out.Name(), done: make(chan struct{})}
		w.kill = func() { _ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
		w.start(t)
		if !w.wait(t, hangGuard) {
			t.Fatalf("the pipeline did not end within %v (killed)", hangGuard)
		}
		b, err := os.ReadFile(status)
		if err != nil {
			t.Fatalf("the shell recorded no status of prodwrap: %v\n%s", err, clip(w.stderr(t)))
		}
		code, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		checkRanThrough(t, w, code, marker)
	})
	t.Run("pipe closed after one byte", func(t *testing.T) {
		t.Parallel()
		marker := filepath.Join(t.TempDir(), "marker")
		w := newProdwrap(t, "", crasher, "sigpipe-writer", marker)
		r, pw := pipe(t)
		w.cmd.Stdout, w.cmd.Stderr = pw, pw
		w.start(t)
		pw.Close()
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatalf("reading the first byte: %v", err)
		}
		r.Close()
		if !w.wait(t, hangGuard) {
			t.Fatalf("prodwrap did not exit within %v (killed)", hangGuard)
		}
		checkRanThrough(t, w, w.status, marker)
	})
}

// checkRanThrough checks a sigpipe-writer run whose output pipe broke.
func checkRanThrough(t *testing.T, w *watched, code int, marker string) {
	t.Helper()
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the child did not run to completion (no marker: %v)", err)
	}
	if code != 1 {
		t.Errorf("prodwrap exited %d, want the child's 1 (141 is prodwrap killed by SIGPIPE)", code)
	}
	reps := w.fileReports(t)
	if len(reps) != 1 {
		t.Fatalf("the file sink holds %d reports, want 1", len(reps))
	}
	if c := exitCodeOf(reps[0]); c != 1 {
		t.Errorf("the report says status %d, want 1", c)
	}
	// Captured after prodwrap's own stderr broke: the child's last line.
	tail, _ := reps[0]["log_tail"].([]any)
	if len(tail) == 0 || tail[len(tail)-1] != "sigpipe-writer: done" {
		last := any(nil)
		if len(tail) > 0 {
			last = tail[len(tail)-1]
		}
		t.Errorf("the report's log_tail ends with %q, want the child's last stderr line %q", last, "sigpipe-writer: done")
	}
}

// TestCrashLoopIsNotHeldBackByDelivery: a crash loop of 15 s (restart =
// "always", tiny delays, no cap) with a webhook that hangs starts at least
// half as many children as the same loop with a healthy webhook, run side
// by side: delivery goes on in the background while the next child starts.
func TestCrashLoopIsNotHeldBackByDelivery(t *testing.T) {
	const loop = 15 * time.Second
	config := crashLoopConfig
	type loopRun struct {
		w     *watched
		count string
	}
	start := func(url string) loopRun {
		count := filepath.Join(t.TempDir(), "starts")
		return loopRun{startProdwrap(t, config(url), exitsChild(count)...), count}
	}
	healthy, hanging := start(startWebhook(t).URL), start(startHangingWebhook(t).URL)

	time.Sleep(loop) // the measured span itself
	nHealthy, nHanging := countLines(t, healthy.count), countLines(t, hanging.count)
	for _, r := range []loopRun{healthy, hanging} {
		select {
		case <-r.w.done:
			t.Errorf("prodwrap exited %d during the loop, want it to go on (max_restarts = 0)\n%s", r.w.status, clip(r.w.stderr(t)))
		default:
		}
	}
	t.Logf("starts in %v: %d with a healthy webhook, %d with a hanging one", loop, nHealthy, nHanging)
	if nHealthy < 4 {
		t.Fatalf("the healthy loop started only %d children in %v: too few to compare\n%s", nHealthy, loop, clip(healthy.w.stderr(t)))
	}
	if 2*nHanging < nHealthy {
		t.Errorf("with a hanging webhook %d starts, with a healthy one %d: want at least half as many", nHanging, nHealthy)
	}
	// Stopping is TestStopSignalsBetweenChildren's to check; here a
	// prodwrap that does not stop in time is killed.
	for _, r := range []loopRun{healthy, hanging} {
		_ = r.w.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, r := range []loopRun{healthy, hanging} {
		if !r.w.wait(t, stopGrace+signalDeadline) {
			t.Logf("prodwrap did not stop on SIGTERM after the loop; killed")
		}
	}
}

// TestGivingUpIsReported: under restart = "on-failure" with max_restarts = 2
// and a child that always panics, the webhook gets the 3 crash reports and
// then a give-up report whose gave_up says 2 restarts and names the last
// crash report; prodwrap exits with the last child's 2.
func TestGivingUpIsReported(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	hook := startWebhook(t)
	w := startProdwrap(t, fmt.Sprintf(`
[process]
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 2

[delivery]
deadline = "10s"

[[webhook]]
url = %q
`, hook.URL), crasher, "panic-string")
	if !w.wait(t, hangGuard) {
		t.Fatalf("prodwrap did not exit within %v (killed)\n%s", hangGuard, clip(w.stderr(t)))
	}
	if w.status != 2 {
		t.Errorf("prodwrap exited %d, want the last child's 2", w.status)
	}

	var crashes []map[string]any
	var gaveUp []map[string]any
	for _, rep := range distinct(hook.reports()) {
		if _, ok := rep["gave_up"]; ok {
			gaveUp = append(gaveUp, rep)
		} else {
			crashes = append(crashes, rep)
		}
	}
	if len(crashes) != 3 || len(gaveUp) != 1 {
		t.Fatalf("the webhook got %d crash reports and %d give-up reports, want 3 and 1\n%s", len(crashes), len(gaveUp), clip(w.stderr(t)))
	}
	// The last crash is the one of the second restart.
	var last map[string]any
	for _, rep := range crashes {
		if n, _ := rep["restart"].(float64); n == 2 {
			last = rep
		}
	}
	if last == nil {
		t.Fatalf("no crash report with restart 2 among %v", crashes)
	}
	g, ok := gaveUp[0]["gave_up"].(map[string]any)
	if !ok {
		t.Fatalf("gave_up is %T, want an object: %v", gaveUp[0]["gave_up"], gaveUp[0]["gave_up"])
	}
	if n, _ := g["restarts"].(float64); n != 2 {
		t.Errorf(`gave_up.restarts is %v, want 2`, g["restarts"])
	}
	if g["last_report"] != reportID(last) {
		t.Errorf("gave_up.last_report is %v, want the last crash report %s", g["last_report"], reportID(last))
	}
	if got := distinct(hook.reports()); reportID(got[len(got)-1]) != reportID(gaveUp[0]) {
		t.Errorf("the give-up report reached the webhook before a crash report, want it after the 3")
	}
}

// TestConfigBoundsAreChecked: values that would break prodwrap are one-line
// errors naming the key and file:line, with status 125.
func TestConfigBoundsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		toml string
		key  string // what the error must name
		line int
	}{
		{"tail_lines beyond an int32", "[capture]\ntail_lines = 2147483648\n", "tail_lines", 2},
		{"webhook headers not a table", "[[webhook]]\nurl = \"http://127.0.0.1:1/x\"\nheaders = \"x\"\n", "headers", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := filepath.Join(dir, "prodwrap.toml")
			if err := os.WriteFile(f, []byte(tt.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := command(t, prodwrapBin(t), "check-config", "--config", f)
			cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+filepath.Join(dir, "spool"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			code, err := statusOf(cmd.Run())
			if err != nil {
				t.Fatal(err)
			}
			msg := strings.TrimSpace(stderr.String())
			if code != 125 {
				t.Errorf("check-config exited %d, want 125\n%s", code, msg)
			}
			where := fmt.Sprintf("%s:%d", f, tt.line)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.key) || !strings.Contains(msg, where) {
				t.Errorf("want one line naming %s and %s, got:\n%s", tt.key, where, msg)
			}
		})
	}
}

// TestEmptyForwardSignalsForwardsNone: with forward_signals = [] the child
// gets none of the signals prodwrap gets. prodwrap is sent only SIGHUP and
// SIGTERM, which it always registers (another signal could have its default
// action kill prodwrap); the echo-signals child prints "ready" and then
// nothing, and exits 0 when its stdin closes.
func TestEmptyForwardSignalsForwardsNone(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	w := newProdwrap(t, "[process]\nforward_signals = []\n", crasher, "echo-signals")
	// Pipes of our own rather than StdinPipe/StdoutPipe, which Wait
	// closes, while the reader below reads to the end.
	inR, stdin := pipe(t)
	stdout, outW := pipe(t)
	w.cmd.Stdin, w.cmd.Stdout = inR, outW
	w.start(t)
	inR.Close()
	outW.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("the child's first line is %q, want ready", l)
		}
	case <-time.After(readyTimeout):
		t.Fatalf("the child printed no ready line in %v", readyTimeout)
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		if err := w.cmd.Process.Signal(sig); err != nil {
			t.Fatalf("signal %v: %v", sig, err)
		}
	}
	// A signal not forwarded leaves no trace to wait for: give a wrongly
	// forwarded one a second to show, far more than an echo takes.
	select {
	case l, ok := <-lines:
		if ok {
			t.Errorf("the child got signal %s, want none forwarded", l)
		}
	case <-time.After(time.Second):
	}
	stdin.Close()
	var extra []string
	for l := range lines {
		extra = append(extra, l)
	}
	if len(extra) > 0 {
		t.Errorf("the child got signals %q, want none forwarded", extra)
	}
	if !w.wait(t, hangGuard) {
		t.Fatalf("prodwrap did not exit within %v of the child's stdin closing (killed)", hangGuard)
	}
	if w.status != 0 {
		t.Errorf("prodwrap exited %d, want the child's 0\n%s", w.status, clip(w.stderr(t)))
	}
}

// TestGrandchildHoldingStderrCutsTheOutput: the child exits 3 and leaves a
// grandchild that holds its stderr for 30 s; with drain_timeout = "300ms"
// prodwrap exits with 3 long before the grandchild ends, and the report
// says the output was cut.
func TestGrandchildHoldingStderrCutsTheOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	w := startProdwrap(t, "[capture]\ndrain_timeout = \"300ms\"\n",
		"/bin/sh", "-c", `echo started >&2; sleep 30 & echo $! > "$0"; exit 3`, pidFile)
	// Half the grandchild's life: an exit later than that waited for it.
	if !w.wait(t, 15*time.Second) {
		t.Fatalf("prodwrap did not exit within 15 s while the grandchild held stderr (killed)\n%s", clip(w.stderr(t)))
	}
	if w.status != 3 {
		t.Errorf("prodwrap exited %d, want the child's 3", w.status)
	}
	reps := w.fileReports(t)
	if len(reps) != 1 {
		t.Fatalf("the file sink holds %d reports, want 1\n%s", len(reps), clip(w.stderr(t)))
	}
	if reps[0]["output_truncated"] != true {
		t.Errorf(`the report has "output_truncated": %v, want true`, reps[0]["output_truncated"])
	}
}

// pipe returns an os.Pipe whose ends are closed at the end of the test.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// TestQuietInvocationsKeepGoDefaults: the binary begins registering
// prodwrap's signals while it initialises (internal/early), but
// not for `prodwrap parse` (early.Quiet), which keeps Go's defaults, as a
// filter should: `prodwrap parse big.log | head` ends on SIGPIPE, and a
// ^Z stops it.
func TestQuietInvocationsKeepGoDefaults(t *testing.T) {
	t.Run("parse into a closed pipe ends on SIGPIPE", func(t *testing.T) {
		// Its report of 3,000 goroutines is three times what the pipe
		// holds; the reader goes away after one byte.
		var log strings.Builder
		log.WriteString("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d\n")
		for i := 2; i <= 3000; i++ {
			// Each stack its own (a report groups identical ones): ~200 kB of JSON.
			fmt.Fprintf(&log, "\ngoroutine %d [chan receive]:\nmain.worker%d(0x%x)\n\t/src/worker.go:%d +0x25\ncreated by main.main in goroutine 1\n\t/src/main.go:9 +0x3a\n", i, i, i, i)
		}
		file := filepath.Join(t.TempDir(), "crash.log")
		if err := os.WriteFile(file, []byte(log.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := command(t, prodwrapBin(t), "parse", file)
		r, w := pipe(t)
		cmd.Stdout = w
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatalf("reading the first byte: %v", err)
		}
		r.Close()
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGPIPE {
			t.Errorf("prodwrap parse ended with %v, want death by SIGPIPE; stderr:\n%s", err, clip(stderr.Bytes()))
		}
	})
	t.Run("SIGTSTP stops parse", func(t *testing.T) {
		// Not testhelper.Command: the test waits for the stop itself
		// (wait4 with WUNTRACED), which os/exec cannot. parse reads its
		// standard input, a pipe held open until the test closes it (at
		// the latest after hangGuard, so that a parse that did not stop
		// still ends).
		stdin, feed := pipe(t)
		cmd := exec.Command(prodwrapBin(t), "parse", "-")
		cmd.Stdin = stdin
		// A process group of its own, whose parent (this test) is in
		// another of the same session: never orphaned, whoever started
		// the test. Linux discards SIGTSTP for an orphaned group (a test
		// binary whose starting shell went away: the group would be).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		guard := time.AfterFunc(hangGuard, func() { feed.Close() })
		defer guard.Stop()
		// A SIGTSTP before the init ran would stop any Go program: wait
		// until parse reads its input.
		waitReadingStdin(t, cmd.Process.Pid)
		if err := cmd.Process.Signal(syscall.SIGTSTP); err != nil {
			t.Fatal(err)
		}
		var ws syscall.WaitStatus
		var err error
		for {
			if _, err = syscall.Wait4(cmd.Process.Pid, &ws, syscall.WUNTRACED, nil); !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		if err != nil {
			t.Fatalf("wait4: %v", err)
		}
		if !ws.Stopped() || ws.StopSignal() != syscall.SIGTSTP {
			t.Fatalf("after SIGTSTP prodwrap parse is %v, want stopped by SIGTSTP", ws)
		}
		if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		feed.Close()
		err = cmd.Wait()
		if code := exitCode(t, err); code != 1 { // no crash in an empty input
			t.Errorf("prodwrap parse of an empty input exited %d, want 1", code)
		}
	})
}

// waitReadingStdin waits until a thread of process pid is in read(2) of
// its standard input (/proc/PID/task/*/syscall: number 0, first argument
// 0), for up to hangGuard.
func waitReadingStdin(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, f := range tasks {
			if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), "0 0x0 ") {
				return
			}
		}
		time.Sleep(time.Millisecond) // polling /proc: no event to wait on
	}
	t.Fatalf("process %d did not read its standard input within %v", pid, hangGuard)
}
