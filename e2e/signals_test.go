package e2e_test

// Issue 12, acceptance: prodwrap owns its signals for its whole life. While
// no child runs — delivering a report, backing off before a restart,
// between two children of a crash loop — SIGTERM, SIGINT, SIGHUP and
// SIGQUIT mean "stop now": prodwrap exits within 1 s plus at most the
// delivery deadline, with the last child's status, its summary on stderr,
// the report spooled or delivered, and never a goroutine dump of its own.
//
// The helpers below (a prodwrap run with a configuration file, webhooks
// that hang, refuse or answer, the spool read back) serve
// lifecycle_test.go too.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stopSignals are the signals that end prodwrap between children.
var stopSignals = []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// signalDeadline is the [delivery] deadline of the stop tests: prodwrap must
// be gone within stopGrace plus it after the signal.
const (
	signalDeadline = 3 * time.Second
	stopGrace      = time.Second
)

// readyTimeout bounds every wait for a moment a test needs (a request
// arrived, a child ran); it is a guard against hangs, not a speed bound.
const readyTimeout = 30 * time.Second

// exitsChild is a child that counts its start in FILE and exits 3. It
// ignores the stop signals, so that one forwarded to it because it landed
// while the child ran does not change its status.
func exitsChild(countFile string) []string {
	return []string{"/bin/sh", "-c", `trap '' TERM INT HUP QUIT; echo start >> "$0"; exit 3`, countFile}
}

// TestStopSignalsBetweenChildren: each stop signal, at each moment when no
// child runs, ends prodwrap within 1 s plus the delivery deadline (3 s)
// with the last child's status 3, its summary naming the report, the
// report spooled or delivered, and no goroutine dump of prodwrap's own.
// The status is the last child's even during the backoff and between two
// children of the loop: a child ran, and 128+N is prodwrap's status only
// when none did (issue 12: "the child's status (or 128+N when there is
// none)").
func TestStopSignalsBetweenChildren(t *testing.T) {
	moments := []struct {
		name string
		run  func(t *testing.T, sig syscall.Signal)
	}{
		{"while delivering to a hanging webhook", stopWhileDelivering},
		{"while backing off before a restart", stopDuringBackoff},
		{"during a crash loop with the webhook refusing", func(t *testing.T, sig syscall.Signal) {
			stopDuringCrashLoop(t, sig, refusingURL(t))
		}},
		{"during a crash loop with the webhook hanging", func(t *testing.T, sig syscall.Signal) {
			stopDuringCrashLoop(t, sig, startHangingWebhook(t).URL)
		}},
	}
	for _, m := range moments {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, sig := range stopSignals {
				t.Run(unix.SignalName(sig), func(t *testing.T) {
					t.Parallel()
					m.run(t, sig)
				})
			}
		})
	}
}

// stopWhileDelivering: the child exited 3 once; prodwrap is delivering its
// report to a webhook that hangs, with a 3 s deadline, when sig arrives.
func stopWhileDelivering(t *testing.T, sig syscall.Signal) {
	hook := startHangingWebhook(t)
	count := filepath.Join(t.TempDir(), "starts")
	w := startProdwrap(t, fmt.Sprintf(`
[delivery]
deadline = %q

[[webhook]]
url = %q
`, signalDeadline, hook.URL), exitsChild(count)...)
	hook.awaitRequests(t, 1)

	st := w.stop(t, sig, signalDeadline)
	if st.code != 3 {
		t.Errorf("prodwrap exited %d, want the child's 3", st.code)
	}
	got := distinct(hook.reports())
	if len(got) != 1 {
		t.Fatalf("the webhook got %d reports, want 1", len(got))
	}
	id := reportID(got[0])
	if _, ok := w.pending(t)[id]; !ok {
		t.Errorf("report %s is not left in the spool (pending/ holds %v)", id, keys(w.pending(t)))
	}
	checkStopped(t, w, id)
}

// stopDuringBackoff: under restart = "always" the child exited 3, its report
// was delivered, and prodwrap waits 30 s before the next start when sig
// arrives.
func stopDuringBackoff(t *testing.T, sig syscall.Signal) {
	hook := startWebhook(t)
	count := filepath.Join(t.TempDir(), "starts")
	w := startProdwrap(t, fmt.Sprintf(`
[process]
restart = "always"
restart_delay = "30s"

[delivery]
deadline = %q

[[webhook]]
url = %q
`, signalDeadline, hook.URL), exitsChild(count)...)
	hook.awaitRequests(t, 1)
	w.awaitDelivered(t) // what is left is the 30 s wait

	// No child runs during a backoff: the status is 128+N, as if the
	// signal had ended one (README, "Supervisor mode"), not the last
	// child's 3.
	st := w.stop(t, sig, signalDeadline)
	if want := 128 + int(sig); st.code != want {
		t.Errorf("prodwrap exited %d, want %d", st.code, want)
	}
	if n := countLines(t, count); n != 1 {
		t.Errorf("the child started %d times, want 1: no child after the signal", n)
	}
	got := distinct(hook.reports())
	if len(got) != 1 {
		t.Fatalf("the webhook got %d reports, want 1", len(got))
	}
	checkStopped(t, w, reportID(got[0]))
}

// stopDuringCrashLoop: restart = "always" with tiny delays and no cap, every
// child exits 3 and no report can be delivered; sig arrives once three
// children ran, at whatever point of the loop prodwrap is then.
func stopDuringCrashLoop(t *testing.T, sig syscall.Signal, hookURL string) {
	count := filepath.Join(t.TempDir(), "starts")
	w := startProdwrap(t, crashLoopConfig(hookURL), exitsChild(count)...)
	awaitLines(t, w, count, 3)

	st := w.stop(t, sig, signalDeadline)
	starts := countLines(t, count)
	spooled := w.pending(t)
	if len(spooled) != starts {
		t.Errorf("%d children ran and %d reports are in the spool, want one each", starts, len(spooled))
	}
	last := latest(spooled)
	if last == nil {
		t.Fatalf("no report in the spool after %d crashes", starts)
	}
	// A signal that lands while a child runs is forwarded to it; the child
	// ignores it and exits 3. Only a child caught before its trap could
	// die of it, and then its status is the one to return.
	want := exitCodeOf(last)
	if want != 3 && want != 128+int(sig) {
		t.Errorf("the last child's report says status %d, want 3 (or %d, killed before its trap)", want, 128+int(sig))
	}
	// A signal that lands during a backoff ends prodwrap with 128+N (no
	// child runs); one that lands while a child runs gives that child's
	// status once it exits.
	if st.code != want && st.code != 128+int(sig) {
		t.Errorf("prodwrap exited %d, want the last child's %d or %d (stopped in a backoff)", st.code, want, 128+int(sig))
	}
	checkStopped(t, w, reportID(last))
}

// checkStopped checks what every stop must leave: the summary naming the
// last child's report, and no goroutine dump of prodwrap's own (the
// children of these tests print none).
func checkStopped(t *testing.T, w *watched, id string) {
	t.Helper()
	stderr := w.stderr(t)
	if !hasSummary(stderr, id) {
		t.Errorf("no summary naming report %s (a line starting %q) on stderr:\n%s", id, "prodwrap: ", clip(stderr))
	}
	checkNoOwnDump(t, stderr)
}

// hasSummary reports whether stderr has a line of prodwrap's summary that
// names the report id.
func hasSummary(stderr []byte, id string) bool {
	for _, l := range strings.Split(string(stderr), "\n") {
		if strings.HasPrefix(l, "prodwrap: ") && strings.Contains(l, id) {
			return true
		}
	}
	return false
}

var (
	goroutineHeader = regexp.MustCompile(`^goroutine \d+ \[`)
	ownFrame        = regexp.MustCompile(`^(created by )?github\.com/prodwrap/prodwrap/`)
)

// checkNoOwnDump fails when stderr holds a Go goroutine dump: a SIGQUIT
// header, a goroutine header or a frame of prodwrap's code.
func checkNoOwnDump(t *testing.T, stderr []byte) {
	t.Helper()
	for _, l := range strings.Split(string(stderr), "\n") {
		if strings.Contains(l, "SIGQUIT: quit") || goroutineHeader.MatchString(l) || ownFrame.MatchString(l) {
			t.Errorf("prodwrap printed a goroutine dump of its own (%q):\n%s", l, clip(stderr))
			return
		}
	}
}

// watched is a run of the real prodwrap binary with a configuration file
// and a spool of its own. Its stdout and stderr are files, so that no
// descendant holding them open delays the wait.
type watched struct {
	cmd        *exec.Cmd
	spool      string
	stdoutPath string
	stderrPath string
	started    time.Time
	// kill ends the run at a timeout or at the end of the test; nil
	// kills cmd's process.
	kill func()

	done   chan struct{}
	status int
	err    error // not an exit: the run failed to be waited for
	ended  time.Time
}

// newProdwrap prepares prodwrap --config F --spool DIR -- COMMAND, F holding
// toml; the caller may set Stdin and Stdout, then calls start.
func newProdwrap(t *testing.T, toml string, child ...string) *watched {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prodwrap.toml")
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &watched{
		spool:      filepath.Join(dir, "spool"),
		stdoutPath: filepath.Join(dir, "stdout"),
		stderrPath: filepath.Join(dir, "stderr"),
		done:       make(chan struct{}),
	}
	args := append([]string{"--config", cfg, "--spool", w.spool, "--"}, child...)
	w.cmd = command(t, prodwrapBin(t), args...)
	w.cmd.Env = append(os.Environ(), "PRODWRAP_LOG_FORMAT=json")
	w.cmd.Stdout = createFile(t, w.stdoutPath)
	w.cmd.Stderr = createFile(t, w.stderrPath)
	return w
}

// startProdwrap is newProdwrap and start.
func startProdwrap(t *testing.T, toml string, child ...string) *watched {
	t.Helper()
	w := newProdwrap(t, toml, child...)
	w.start(t)
	return w
}

// start starts prodwrap and a goroutine that waits for it; a run still
// going at the end of the test is killed.
func (w *watched) start(t *testing.T) {
	t.Helper()
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.started = time.Now()
	go func() {
		defer close(w.done)
		err := w.cmd.Wait()
		w.ended = time.Now()
		w.status, w.err = statusOf(err)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.killNow()
			<-w.done
		}
	})
}

func (w *watched) killNow() {
	if w.kill != nil {
		w.kill()
		return
	}
	_ = w.cmd.Process.Kill()
}

// wait waits up to within for prodwrap to exit; past it, prodwrap is killed
// and wait reports false.
func (w *watched) wait(t *testing.T, within time.Duration) bool {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
		w.killNow()
		<-w.done
		return false
	}
	if w.err != nil {
		t.Fatalf("waiting for prodwrap: %v", w.err)
	}
	return true
}

// stopped is how a signalled prodwrap ended.
type stopped struct {
	code int
	took time.Duration // from the signal to the exit
}

// stop sends sig to prodwrap and checks that it exits within stopGrace plus
// deadline. It gives it ten seconds more before killing it, so that a slow
// exit and a hang read differently.
func (w *watched) stop(t *testing.T, sig syscall.Signal, deadline time.Duration) stopped {
	t.Helper()
	bound := stopGrace + deadline
	sent := time.Now()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v (did prodwrap exit before it?)\n%s", sig, err, clip(w.stderr(t)))
	}
	if !w.wait(t, bound+10*time.Second) {
		t.Fatalf("prodwrap did not exit within %v of %v (killed)\n%s", bound+10*time.Second, unix.SignalName(sig), clip(w.stderr(t)))
	}
	took := w.ended.Sub(sent)
	t.Logf("prodwrap exited %d, %v after %v", w.status, took.Round(time.Millisecond), unix.SignalName(sig))
	if took > bound {
		t.Errorf("prodwrap exited %v after %v, want within %v (1 s plus the delivery deadline)", took.Round(time.Millisecond), unix.SignalName(sig), bound)
	}
	return stopped{code: w.status, took: took}
}

// clip shortens output for a failure message: its first and last 15
// lines.
func clip(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) <= 30 {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:15], "\n") + fmt.Sprintf("\n[... %d lines ...]\n", len(lines)-30) + strings.Join(lines[len(lines)-15:], "\n")
}

func (w *watched) stderr(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(w.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pending returns the reports in the spool's pending/, by id.
func (w *watched) pending(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	names, entries := jsonFiles(t, filepath.Join(w.spool, "pending", "*.json"))
	for i, n := range names {
		entry := entries[i]
		rep := entry
		if r, ok := entry["report"].(map[string]any); ok {
			rep = r // an entry wraps the report with its delivery state
		}
		id := reportID(rep)
		if id == "" {
			id = strings.TrimSuffix(filepath.Base(n), ".json")
		}
		out[id] = rep
	}
	return out
}

// awaitDelivered waits until the spool's pending/ is empty: every report
// spooled so far was acknowledged by every sink.
func (w *watched) awaitDelivered(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		names, _ := filepath.Glob(filepath.Join(w.spool, "pending", "*.json"))
		if len(names) == 0 {
			return
		}
		select {
		case <-w.done:
			t.Fatalf("prodwrap exited %d with %d reports undelivered\n%s", w.status, len(names), clip(w.stderr(t)))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports still undelivered after %v\n%s", len(names), readyTimeout, clip(w.stderr(t)))
		}
		time.Sleep(10 * time.Millisecond) // polling a directory: there is no event to wait for
	}
}

// fileReports returns the reports the file sink wrote to the spool's
// reports/, as JSON objects.
func (w *watched) fileReports(t *testing.T) []map[string]any {
	t.Helper()
	_, out := jsonFiles(t, filepath.Join(w.spool, "reports", "*.json"))
	return out
}

// jsonFiles reads the JSON objects in the files pattern matches, in the
// order of their names; one that does not decode fails the test.
func jsonFiles(t *testing.T, pattern string) ([]string, []map[string]any) {
	t.Helper()
	names, _ := filepath.Glob(pattern)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		var v map[string]any
		b, err := os.ReadFile(n)
		if err == nil {
			err = json.Unmarshal(b, &v)
		}
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, v)
	}
	return names, out
}

// statusOf maps Wait's error to a shell's status: the code, or 128+N for
// signal N.
func statusOf(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, err
}

func createFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// webhook is a webhook receiver on 127.0.0.1 that decodes what it gets;
// hanging, it answers nothing until the request is given up or the test
// ends.
type webhook struct {
	URL     string
	hang    bool
	mu      sync.Mutex
	got     []map[string]any // decoded bodies, in arrival order
	arrived chan struct{}    // a token per request
}

// startWebhook starts a healthy webhook: it answers 204 to every report.
func startWebhook(t *testing.T) *webhook { return newWebhook(t, false) }

// startHangingWebhook starts a webhook that reads each report and then
// answers nothing until the client gives up or the test ends.
func startHangingWebhook(t *testing.T) *webhook { return newWebhook(t, true) }

func newWebhook(t *testing.T, hang bool) *webhook {
	h := &webhook{hang: hang, arrived: make(chan struct{}, 1<<16)}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var rep map[string]any
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err == nil {
			err = json.Unmarshal(body, &rep)
		}
		if err != nil {
			t.Errorf("webhook: undecodable request: %v", err)
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, rep)
		h.mu.Unlock()
		select {
		case h.arrived <- struct{}{}:
		default:
		}
		if h.hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)                 // runs second: waits for the handlers...
	t.Cleanup(func() { close(release) }) // ...that this lets go first
	h.URL = srv.URL + "/hook"
	return h
}

// awaitRequests waits until the webhook got n requests.
func (h *webhook) awaitRequests(t *testing.T, n int) {
	t.Helper()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	for range n {
		select {
		case <-h.arrived:
		case <-timeout.C:
			t.Fatalf("the webhook got %d requests in %v, want %d", len(h.reports()), readyTimeout, n)
		}
	}
}

// reports returns the bodies the webhook got, in arrival order.
func (h *webhook) reports() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.got...)
}

// refusingURL is a webhook URL on 127.0.0.1 where nothing listens: each
// connection is refused. (The port was a listener's a moment ago and is
// closed before prodwrap starts.)
func refusingURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

// awaitLines waits until file has n lines, failing when prodwrap exits or
// readyTimeout passes first.
func awaitLines(t *testing.T, w *watched, file string, n int) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for countLines(t, file) < n {
		select {
		case <-w.done:
			t.Fatalf("prodwrap exited %d after %d starts, want %d\n%s", w.status, countLines(t, file), n, clip(w.stderr(t)))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d starts in %v, want %d\n%s", countLines(t, file), readyTimeout, n, clip(w.stderr(t)))
		}
		time.Sleep(10 * time.Millisecond) // polling a file: there is no event to wait for
	}
}

// countLines returns the number of lines in file, 0 when it does not exist.
func countLines(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// distinct drops the reports whose id came before: retries.
func distinct(reps []map[string]any) []map[string]any {
	seen := map[string]bool{}
	var out []map[string]any
	for _, rep := range reps {
		if id := reportID(rep); !seen[id] {
			seen[id] = true
			out = append(out, rep)
		}
	}
	return out
}

func reportID(rep map[string]any) string {
	id, _ := rep["id"].(string)
	return id
}

// exitCodeOf returns a report's exit.code, -1 when it has none.
func exitCodeOf(rep map[string]any) int {
	exit, _ := rep["exit"].(map[string]any)
	code, ok := exit["code"].(float64)
	if !ok {
		return -1
	}
	return int(code)
}

// latest returns the report with the latest time, nil for none.
func latest(reps map[string]map[string]any) map[string]any {
	var last map[string]any
	var lastTime time.Time
	for _, rep := range reps {
		s, _ := rep["time"].(string)
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			continue
		}
		if last == nil || tm.After(lastTime) {
			last, lastTime = rep, tm
		}
	}
	return last
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// crashLoopConfig restarts always, with tiny delays and no cap, and
// delivers to the webhook at url within signalDeadline.
func crashLoopConfig(url string) string {
	return fmt.Sprintf(`
[process]
restart = "always"
restart_delay = "10ms"
restart_max_delay = "20ms"
max_restarts = 0

[delivery]
deadline = %q

[[webhook]]
url = %q
`, signalDeadline, url)
}
