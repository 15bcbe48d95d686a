package e2e_test

// Issue 13, acceptance at the level of the real binary: the spool under
// faults. A fault-injecting webhook receiver on 127.0.0.1 (slow, flaky,
// 503, 429 + Retry-After, hanging, closing mid-body, redirecting to a
// second receiver, a 502 page echoing the request) and entries planted in
// pending/ or in the fallback spool; several prodwrap processes and
// `prodwrap flush` runs share one spool, some SIGKILLed. What must hold:
// no report lost, none acknowledged twice (but in the documented window
// between a 2xx and its record), nothing followed through a link, nothing
// planted delivered, no secret anywhere prodwrap writes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// The test's secrets: in the webhook's URL (path and query), in its
// headers, and as the password of URLs in the child's arguments and
// environment.
const (
	sfSecretPath   = "e2e-secret-path-3f9a"
	sfSecretToken  = "e2e-secret-token-b71c"
	sfSecretBearer = "e2e-secret-bearer-0d4e"
	sfSecretKey    = "e2e-secret-apikey-92aa"
	sfSecretPass   = "e2e-secret-dbpass-5e60"
)

var sfSecrets = []string{sfSecretPath, sfSecretToken, sfSecretBearer, sfSecretKey, sfSecretPass}

// sfChild is a child that exits 3 with a database URL carrying a password
// among its arguments.
var sfChild = []string{"/bin/sh", "-c", "exit 3", "sh", "postgres://app:" + sfSecretPass + "@db.internal/app"}

// sfChildEnv is the environment prodwrap (and so the child) gets beside
// the test's: another URL with a password.
var sfChildEnv = []string{"CACHE_URL=redis://:" + sfSecretPass + "@cache.internal:6379/0"}

// faultKind is how the fault receiver answers.
type faultKind int32

const (
	healthy      faultKind = iota // 204 to every report
	flaky                         // 500 to every other request
	unavailable                   // 503 to every request
	rateLimited                   // 429 with Retry-After: 60
	hanging                       // no answer until the client gives up
	closeMidBody                  // the connection closed halfway through the request's body
	redirecting                   // a 3xx to the second receiver
	echo502                       // a 502 whose page echoes the request, secrets and all
)

var faultNames = map[faultKind]string{healthy: "healthy", flaky: "flaky", unavailable: "503", rateLimited: "429",
	hanging: "hanging", closeMidBody: "close mid-body", redirecting: "redirect", echo502: "502 echoing the request"}

// faultReceiver is a webhook receiver on 127.0.0.1 that misbehaves on
// purpose. It records every request (headers dumped, report id decoded)
// and counts, per report id, the requests and the 2xx it answered: the
// acknowledgements.
type faultReceiver struct {
	srv *httptest.Server
	// URL is the webhook URL prodwrap is given: its path and query hold
	// secrets.
	URL string

	kind         atomic.Int32
	delay        time.Duration // before each answer: a slow receiver
	redirectCode int
	redirectTo   string // base URL of the redirect's target

	mu        sync.Mutex
	calls     int
	requested map[string]int // requests per report id ("" when undecodable)
	acked     map[string]int // 2xx answered per report id
	ackTimes  map[string][]time.Time
	dumps     bytes.Buffer  // every request's head and body
	changed   chan struct{} // closed (and replaced) at each request
}

// startFaultReceiver starts a receiver answering as kind, each answer
// after delay.
func startFaultReceiver(t *testing.T, kind faultKind, delay time.Duration) *faultReceiver {
	rcv := &faultReceiver{delay: delay, requested: map[string]int{}, acked: map[string]int{}, ackTimes: map[string][]time.Time{}, changed: make(chan struct{})}
	rcv.kind.Store(int32(kind))
	release := make(chan struct{})
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rcv.serve(w, r, release)
	}))
	t.Cleanup(rcv.srv.Close)             // runs second: waits for the handlers...
	t.Cleanup(func() { close(release) }) // ...that this lets go first
	rcv.URL = rcv.srv.URL + "/hook/" + sfSecretPath + "?token=" + sfSecretToken
	return rcv
}

func (rcv *faultReceiver) setKind(k faultKind) { rcv.kind.Store(int32(k)) }

func (rcv *faultReceiver) serve(w http.ResponseWriter, r *http.Request, release chan struct{}) {
	kind := faultKind(rcv.kind.Load())
	head, _ := httputil.DumpRequest(r, false)
	if kind == closeMidBody {
		buf := make([]byte, 128)
		n, _ := io.ReadFull(r.Body, buf)
		rcv.record(head, buf[:n], "")
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	var rep struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &rep)
	n := rcv.record(head, body, rep.ID)
	if rcv.delay > 0 {
		select {
		case <-time.After(rcv.delay):
		case <-r.Context().Done():
			return // the client gave up (or died): no answer, no acknowledgement
		}
	}
	switch kind {
	case flaky:
		if n%2 == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	case unavailable:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case rateLimited:
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case hanging:
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return
	case redirecting:
		http.Redirect(w, r, rcv.redirectTo+r.URL.RequestURI(), rcv.redirectCode)
		return
	case echo502:
		js, _ := json.Marshal(map[string]any{"url": r.URL.String(), "headers": r.Header})
		w.WriteHeader(http.StatusBadGateway)
		w.Write(js)
		w.Write(head)
		w.Write(bytes.Repeat([]byte("padding "), 2000))
		return
	}
	if rep.ID == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rcv.mu.Lock()
	rcv.acked[rep.ID]++
	rcv.ackTimes[rep.ID] = append(rcv.ackTimes[rep.ID], time.Now())
	rcv.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// record notes a request and returns its number, from 1.
func (rcv *faultReceiver) record(head, body []byte, id string) int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	rcv.calls++
	rcv.requested[id]++
	rcv.dumps.Write(head)
	rcv.dumps.Write(body)
	rcv.dumps.WriteString("\n")
	close(rcv.changed)
	rcv.changed = make(chan struct{})
	return rcv.calls
}

func (rcv *faultReceiver) callCount() int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.calls
}

// awaitCalls waits until the receiver got n requests in all.
func (rcv *faultReceiver) awaitCalls(t *testing.T, n int) {
	t.Helper()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	for {
		rcv.mu.Lock()
		calls, changed := rcv.calls, rcv.changed
		rcv.mu.Unlock()
		if calls >= n {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("the receiver got %d requests in %v, want %d", calls, readyTimeout, n)
		}
	}
}

func (rcv *faultReceiver) ackedCopy() map[string]int {
	return rcv.copyOf(func() map[string]int { return rcv.acked })
}
func (rcv *faultReceiver) requestedCopy() map[string]int {
	return rcv.copyOf(func() map[string]int { return rcv.requested })
}

func (rcv *faultReceiver) copyOf(m func() map[string]int) map[string]int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	out := map[string]int{}
	for k, v := range m() {
		out[k] = v
	}
	return out
}

// ackTimesOf returns when the receiver acknowledged report id.
func (rcv *faultReceiver) ackTimesOf(id string) []time.Time {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]time.Time(nil), rcv.ackTimes[id]...)
}

func (rcv *faultReceiver) dump() string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.dumps.String()
}

// sfConfig is a prodwrap configuration: one webhook to url with every
// secret of the test, delivery bounded by deadline, the file sink on when
// fileDir is set (there; "spool" means the spool's reports/), and the
// [process] section given.
type sfConfig struct {
	url      string
	deadline time.Duration
	fileDir  string
	process  string
	logDebug bool
}

func (c sfConfig) write(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	if c.logDebug {
		b.WriteString("[log]\nlevel = \"debug\"\n\n")
	}
	if c.process != "" {
		fmt.Fprintf(&b, "[process]\n%s\n\n", c.process)
	}
	fmt.Fprintf(&b, "[delivery]\ndeadline = %q\nmin_backoff = \"5ms\"\nmax_backoff = \"50ms\"\n\n", c.deadline.String())
	switch c.fileDir {
	case "":
		b.WriteString("[file]\nenabled = false\n\n")
	case "spool":
		b.WriteString("[file]\nenabled = true\n\n")
	default:
		fmt.Fprintf(&b, "[file]\nenabled = true\ndir = %q\n\n", c.fileDir)
	}
	fmt.Fprintf(&b, "[[webhook]]\nname = \"ops\"\nurl = %q\nheaders = { Authorization = %q, X-Api-Key = %q }\n",
		c.url, "Bearer "+sfSecretBearer, sfSecretKey)
	p := filepath.Join(t.TempDir(), "prodwrap.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pwProc is a run of the real binary.
type pwProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	started        time.Time
	limit          *time.Timer
	hung           atomic.Bool
	rssFile        string // where the measuring intermediate writes the peak RSS; "" when not measured
}

// pwResult is how a run ended.
type pwResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
	maxRSS         int64 // bytes, of a measured run (runMeasured)
	hung           bool  // killed at its time limit
}

// sfEnv is the environment of the runs: the test's, JSON logs, the
// child's secrets, then extra.
func sfEnv(extra ...string) []string {
	env := append(os.Environ(), "PRODWRAP_LOG_FORMAT=json")
	env = append(env, sfChildEnv...)
	return append(env, extra...)
}

// startPW starts prodwrap with args; a run still going after limit is
// killed (and reads as hung).
func startPW(t *testing.T, env []string, limit time.Duration, args ...string) *pwProc {
	t.Helper()
	return startPWWith(t, env, limit, false, args...)
}

// measureRSSEnv makes the test binary the measuring intermediate of
// runMeasured (see measureRSS), before TestMain.
const measureRSSEnv = "PRODWRAP_E2E_MEASURE_RSS"

func init() {
	if f := os.Getenv(measureRSSEnv); f != "" {
		os.Exit(measureRSS(f))
	}
}

// measureRSS runs the command in its arguments with the same stdio and
// environment, writes its peak RSS (in KiB) to file and exits with its
// status.
//
// The peak RSS of a process is not its own alone: os/exec starts a
// program with vfork (the child shares its parent's memory until exec),
// and Linux carries the high-water mark of the memory a process leaves at
// exec into its ru_maxrss. A prodwrap started by the test binary would
// read at least the test binary's own peak — tens to hundreds of MiB once
// the tests have run a while. Started by this fresh, small process
// instead, it reads at most this process's few MiB more than its own.
func measureRSS(file string) int {
	os.Unsetenv(measureRSSEnv)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "measure-rss: no command")
		return 125
	}
	runtime.LockOSThread() // Pdeathsig is the starting thread's
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // killed at the test's limit with this process
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "measure-rss: %v\n", err)
		return 125
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		os.WriteFile(file, []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o600)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// runMeasured is runPW, with the run's peak RSS measured (see measureRSS).
func runMeasured(t *testing.T, env []string, limit time.Duration, args ...string) pwResult {
	t.Helper()
	r := startPWWith(t, env, limit, true, args...).wait(t)
	if r.hung {
		t.Errorf("prodwrap %s did not end within %v (killed)\n%s", strings.Join(args, " "), limit, clip([]byte(r.stderr)))
	}
	return r
}

func startPWWith(t *testing.T, env []string, limit time.Duration, measure bool, args ...string) *pwProc {
	t.Helper()
	p := &pwProc{}
	if measure {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		p.rssFile = filepath.Join(t.TempDir(), "maxrss")
		p.cmd = command(t, self, append([]string{prodwrapBin(t)}, args...)...)
		env = append(env[:len(env):len(env)], measureRSSEnv+"="+p.rssFile)
	} else {
		p.cmd = command(t, prodwrapBin(t), args...)
	}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	p.limit = time.AfterFunc(limit, func() {
		p.hung.Store(true)
		p.cmd.Process.Kill()
	})
	return p
}

// wait waits for the run; a signal's death reads as 128+N.
func (p *pwProc) wait(t *testing.T) pwResult {
	t.Helper()
	err := p.cmd.Wait()
	took := time.Since(p.started)
	p.limit.Stop()
	code, werr := statusOf(err)
	if werr != nil {
		t.Fatalf("waiting for prodwrap: %v", werr)
	}
	r := pwResult{code: code, stdout: p.stdout.String(), stderr: p.stderr.String(), took: took, hung: p.hung.Load()}
	if p.rssFile != "" {
		b, err := os.ReadFile(p.rssFile)
		kib, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil {
			t.Fatalf("the peak RSS of prodwrap %v was not measured: %v %v", p.cmd.Args[1:], err, perr)
		}
		r.maxRSS = kib << 10 // ru_maxrss is in KiB on Linux
	}
	return r
}

// runPW runs prodwrap to its end, within limit.
func runPW(t *testing.T, env []string, limit time.Duration, args ...string) pwResult {
	t.Helper()
	r := startPW(t, env, limit, args...).wait(t)
	if r.hung {
		t.Errorf("prodwrap %s did not end within %v (killed)\n%s", strings.Join(args, " "), limit, clip([]byte(r.stderr)))
	}
	return r
}

var busyRE = regexp.MustCompile(`\((\d+) being delivered by another process\)`)

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// summaryIDs returns the report ids named by prodwrap's summary lines.
func summaryIDs(stderr string) []string {
	var ids []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "prodwrap: report ") {
			ids = append(ids, uuidRE.FindAllString(l, -1)...)
		}
	}
	return ids
}

// entryNames returns the names of the files in dir/sub ending in .json.
func entryNames(dir, sub string) []string {
	des, _ := os.ReadDir(filepath.Join(dir, sub))
	var out []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".json") {
			out = append(out, de.Name())
		}
	}
	return out
}

// pendingIDs returns the ids of the entries in the spool's pending/.
func pendingIDs(spool string) []string {
	var ids []string
	for _, n := range entryNames(spool, "pending") {
		ids = append(ids, strings.TrimSuffix(n, ".json"))
	}
	return ids
}

// checkNoSecret fails when any of the test's secrets is in one of outputs
// or in a regular file under any of dirs (read without following links or
// blocking, the first 64 MiB of each).
func checkNoSecret(t *testing.T, dirs []string, outputs ...string) {
	t.Helper()
	for i, out := range outputs {
		for _, s := range sfSecrets {
			if j := strings.Index(out, s); j >= 0 {
				t.Errorf("output %d of prodwrap holds the secret %q: …%s…", i, s, out[max(0, j-200):min(len(out), j+100)])
			}
		}
	}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil || !de.Type().IsRegular() {
				return nil
			}
			f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
			if err != nil {
				return nil
			}
			defer f.Close()
			// In windows of 1 MiB overlapping by more than a secret's
			// length: the test binary stays small whatever the files.
			const window, overlap = 1 << 20, 256
			buf := make([]byte, window+overlap)
			keep := 0
			for off := int64(0); off < 64<<20; {
				n, err := f.Read(buf[keep:])
				if n == 0 || err != nil && err != io.EOF {
					break
				}
				b := buf[:keep+n]
				for _, s := range sfSecrets {
					if j := bytes.Index(b, []byte(s)); j >= 0 {
						t.Errorf("%s holds the secret %q: …%s…", p, s, b[max(0, j-200):min(len(b), j+100)])
						return nil
					}
				}
				off += int64(n)
				keep = copy(buf, b[max(0, len(b)-overlap):])
			}
			return nil
		})
	}
}

// TestSpoolFaultsSharedSpoolOnce: in each round, 4 prodwrap processes whose
// children crash (restart on-failure, 2 restarts: 3 crash reports and a
// give-up report each) and 4 `prodwrap flush` runs share one spool,
// delivering to a slow and flaky receiver (10 ms per answer, 500 to every
// other request). After a final flush, every report any summary, the file
// sink or the spool named was acknowledged by the receiver exactly once.
func TestSpoolFaultsSharedSpoolOnce(t *testing.T) {
	const rounds, procs, flushes = 10, 4, 4
	rcv := startFaultReceiver(t, flaky, 10*time.Millisecond)
	dir := t.TempDir()
	spool, files := filepath.Join(dir, "spool"), filepath.Join(dir, "reports")
	cfg := sfConfig{url: rcv.URL, deadline: 10 * time.Second, fileDir: files,
		process: "restart = \"on-failure\"\nrestart_delay = \"10ms\"\nrestart_max_delay = \"20ms\"\nmax_restarts = 2"}.write(t)
	env := sfEnv()
	args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
	flushArgs := []string{"flush", "--config", cfg, "--spool", spool}

	named := map[string]bool{}
	var stderrs []string
	busy := 0 // entries a flush found claimed by another process
	start := time.Now()
	for round := range rounds {
		var runs []*pwProc
		for i := range procs + flushes {
			if i%2 == 0 {
				runs = append(runs, startPW(t, env, readyTimeout, args...))
			} else {
				runs = append(runs, startPW(t, env, readyTimeout, flushArgs...))
			}
		}
		for i, p := range runs {
			r := p.wait(t)
			stderrs = append(stderrs, r.stderr)
			if r.hung {
				t.Fatalf("round %d: run %d did not end in %v\n%s", round, i, readyTimeout, clip([]byte(r.stderr)))
			}
			if i%2 == 0 {
				if r.code != 3 {
					t.Errorf("round %d: prodwrap exited %d, want the child's 3\n%s", round, r.code, clip([]byte(r.stderr)))
				}
				for _, id := range summaryIDs(r.stderr) {
					named[id] = true
				}
			} else if m := busyRE.FindStringSubmatch(r.stdout); m != nil {
				n, _ := strconv.Atoi(m[1])
				busy += n
			}
		}
		for _, id := range pendingIDs(spool) {
			named[id] = true
		}
	}
	final := runPW(t, env, readyTimeout, flushArgs...)
	if final.code != 0 || !strings.Contains(final.stdout, "remaining 0") {
		t.Errorf("final flush: exit %d, %q; want 0 and nothing remaining\n%s", final.code, final.stdout, clip([]byte(final.stderr)))
	}
	t.Logf("%d rounds of %d processes and %d flushes in %v; the flushes found %d entries claimed by another process",
		rounds, procs, flushes, time.Since(start).Round(time.Millisecond), busy)
	for _, n := range entryNames(files, ".") {
		if id := uuidRE.FindString(n); id != "" {
			named[id] = true
		}
	}
	if want := rounds * procs * 4; len(named) != want {
		t.Errorf("%d reports named by summaries, the file sink and the spool, want %d (%d processes, 4 reports each)", len(named), want, rounds*procs)
	}
	acked := rcv.ackedCopy()
	lost, doubled := 0, 0
	for id := range named {
		switch n := acked[id]; {
		case n == 0:
			lost++
			t.Errorf("report %s never acknowledged by the receiver", id)
		case n > 1:
			doubled++
			t.Errorf("report %s acknowledged %d times", id, n)
		}
	}
	for id := range acked {
		if !named[id] {
			t.Errorf("the receiver acknowledged %q, a report no summary, file or entry named", id)
		}
	}
	t.Logf("%d reports, %d requests: %d lost, %d acknowledged more than once", len(named), rcv.callCount(), lost, doubled)
	if left := entryNames(spool, "pending"); len(left) != 0 {
		t.Errorf("pending/ still holds %v", left)
	}
	checkNoSecret(t, []string{spool, files}, append(stderrs, final.stderr, final.stdout)...)
}

// TestSpoolFaultsSIGKILLDuringDelivery: prodwrap, crash-looping against a
// slow receiver (25 ms per answer) — or, in odd rounds when entries are
// left, `prodwrap flush` — is SIGKILLed at a random moment of delivery
// (after its 1st to 3rd request, plus 0–30 ms), 10 times on one spool;
// then a final `prodwrap flush`. Every report that was spooled
// (seen by the receiver or left in pending/) reaches it; nothing is torn
// (quarantined); duplicates are counted and logged, and each is in the
// documented window: every acknowledgement but a report's last was
// answered within dupWindow of a kill (a kill between the 2xx and its
// record, which takes milliseconds; the bound allows for a loaded
// machine).
func TestSpoolFaultsSIGKILLDuringDelivery(t *testing.T) {
	const rounds = 10
	const dupWindow = 250 * time.Millisecond
	rcv := startFaultReceiver(t, healthy, 25*time.Millisecond)
	spool := filepath.Join(t.TempDir(), "spool")
	cfg := sfConfig{url: rcv.URL, deadline: 10 * time.Second,
		process: "restart = \"on-failure\"\nrestart_delay = \"5ms\"\nrestart_max_delay = \"10ms\"\nmax_restarts = 0"}.write(t)
	env := sfEnv()
	args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 13))
	t.Logf("seed %d", seed)

	spooled := map[string]bool{}
	var stderrs []string
	var kills []time.Time
	flushArgs := []string{"flush", "--config", cfg, "--spool", spool}
	for round := range rounds {
		before := rcv.callCount()
		what, after := "prodwrap", 1+rng.IntN(3)
		p := (*pwProc)(nil)
		if left := len(pendingIDs(spool)); round%2 == 1 && left > 0 {
			// A flush with entries to deliver, killed in the middle.
			what, after = "prodwrap flush", 1+rng.IntN(min(3, left))
			p = startPW(t, env, readyTimeout, flushArgs...)
		} else {
			p = startPW(t, env, readyTimeout, args...)
		}
		rcv.awaitCalls(t, before+after)
		jitter := time.Duration(rng.IntN(30)) * time.Millisecond
		time.Sleep(jitter) // a random moment, not a wait for a state
		kills = append(kills, time.Now())
		p.cmd.Process.Kill()
		r := p.wait(t)
		stderrs = append(stderrs, r.stderr)
		left := pendingIDs(spool)
		t.Logf("round %d: %s killed after request %d + %v; %d entries pending", round, what, after, jitter, len(left))
		for _, id := range left {
			spooled[id] = true
		}
	}
	for id := range rcv.requestedCopy() {
		spooled[id] = true // a request goes out only after the entry is spooled
	}
	final := runPW(t, env, readyTimeout, flushArgs...)
	if final.code != 0 || !strings.Contains(final.stdout, "remaining 0") {
		t.Errorf("final flush: exit %d, %q; want 0 and nothing remaining\n%s", final.code, final.stdout, clip([]byte(final.stderr)))
	}
	for _, sub := range []string{"pending", "quarantine"} {
		if left := entryNames(spool, sub); len(left) != 0 {
			t.Errorf("%s/ holds %v after the final flush", sub, left)
		}
	}
	acked := rcv.ackedCopy()
	dups := 0
	for id := range spooled {
		switch n := acked[id]; {
		case id == "":
			t.Errorf("the receiver got %d requests without a report id", rcv.requestedCopy()[""])
		case n == 0:
			t.Errorf("report %s was spooled and never reached the receiver", id)
		case n > 1:
			dups += n - 1
			times := rcv.ackTimesOf(id)
			for _, a := range times[:len(times)-1] {
				gap := time.Duration(1<<63 - 1)
				for _, k := range kills {
					if d := k.Sub(a).Abs(); d < gap {
						gap = d
					}
				}
				if gap > dupWindow {
					t.Errorf("report %s acknowledged %d times, and no kill came within %v of an acknowledgement (the nearest %v): a duplicate outside the window between a 2xx and its record", id, n, dupWindow, gap)
				} else {
					t.Logf("report %s acknowledged %d times: a kill %v from the 2xx (the window between a 2xx and its record)", id, n, gap)
				}
			}
		}
	}
	t.Logf("%d reports spooled, %d requests, %d duplicate acknowledgements in %d kills", len(spooled), rcv.callCount(), dups, rounds)
	if len(spooled) == 0 {
		t.Fatal("nothing was spooled")
	}
	checkNoSecret(t, []string{spool}, append(stderrs, final.stderr)...)
}

// forgedEntry is a spool entry another user planted: a valid report with
// its own id, to be delivered to whatever webhook the spool's reader has.
func forgedEntry(t *testing.T, id string) []byte {
	t.Helper()
	rep := &report.Report{Schema: report.Schema, ID: id, Time: time.Now().UTC(), Service: "forged",
		Exit: report.Exit{Code: 2},
		Crash: &parse.Crash{Kind: parse.KindPanic, Crashing: true, Message: "forged by another user",
			Culprit: &parse.FrameRef{Function: "main.forged", File: "/src/forged.go", Line: 1}},
		Fingerprint: []string{"panic", "forged"}}
	b, err := json.Marshal(map[string]any{"report": rep, "acked": map[string]any{}, "spooled": time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// treeState lists what is under dir (names, kinds, sizes, times), not
// following links, to compare before and after.
func treeState(dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p, err)
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s %v %d %d uid=%d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), st.Uid)
		return nil
	})
	return b.String()
}

// TestSpoolFaultsPlantedFallback: the default spool cannot be used
// (STATE_DIRECTORY, XDG_STATE_HOME and HOME below a regular file, so not
// even root can create it — STATE_DIRECTORY is tried before
// /var/lib/prodwrap, which therefore plays no part), and TMPDIR holds a
// prodwrap-spool-<euid> planted by someone else: mode 0777, a symbolic
// link to another directory, ours but with pending/ a link to another
// directory, another user's (as root only). prodwrap
// refuses it, writes nothing in it nor through the link, delivers the
// real crash from memory, and the forged entry in its pending/ reaches
// no receiver, not even through `prodwrap flush`.
func TestSpoolFaultsPlantedFallback(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, planted, victim string, forged []byte)
	}{
		{"mode 0777 with a forged entry", func(t *testing.T, planted, _ string, forged []byte) {
			mustMkdir(t, filepath.Join(planted, "pending"), 0o777)
			os.Chmod(planted, 0o777)
			os.Chmod(filepath.Join(planted, "pending"), 0o777)
			mustWrite(t, filepath.Join(planted, "pending", "forged.json"), forged)
		}},
		{"a symbolic link to a directory with a forged entry", func(t *testing.T, planted, victim string, forged []byte) {
			mustMkdir(t, filepath.Join(victim, "pending"), 0o700)
			mustWrite(t, filepath.Join(victim, "pending", "forged.json"), forged)
			if err := os.Symlink(victim, planted); err != nil {
				t.Fatal(err)
			}
		}},
		{"ours, with pending/ a symbolic link to a directory with a forged entry", func(t *testing.T, planted, victim string, forged []byte) {
			mustMkdir(t, planted, 0o700)
			mustMkdir(t, victim, 0o700)
			mustWrite(t, filepath.Join(victim, "forged.json"), forged)
			if err := os.Symlink(victim, filepath.Join(planted, "pending")); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's with a forged entry", func(t *testing.T, planted, _ string, forged []byte) {
			if os.Geteuid() != 0 {
				t.Skip("only root can plant a directory owned by another user")
			}
			mustMkdir(t, filepath.Join(planted, "pending"), 0o700)
			mustWrite(t, filepath.Join(planted, "pending", "forged.json"), forged)
			for _, p := range []string{planted, filepath.Join(planted, "pending"), filepath.Join(planted, "pending", "forged.json")} {
				if err := os.Lchown(p, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := startFaultReceiver(t, healthy, 0)
			base := t.TempDir()
			notDir := filepath.Join(base, "not-a-dir")
			mustWrite(t, notDir, []byte("a regular file"))
			tmp := filepath.Join(base, "tmp")
			mustMkdir(t, tmp, 0o700)
			planted := filepath.Join(tmp, fmt.Sprintf("prodwrap-spool-%d", os.Geteuid()))
			victim := filepath.Join(base, "victim")
			forgedID := "forged-" + strconv.Itoa(os.Getpid())
			tt.plant(t, planted, victim, forgedEntry(t, forgedID))
			before := treeState(tmp) + treeState(victim)

			env := sfEnv("HOME="+filepath.Join(notDir, "home"), "XDG_STATE_HOME="+filepath.Join(notDir, "state"),
				"STATE_DIRECTORY="+filepath.Join(notDir, "state-directory"), "TMPDIR="+tmp, "PRODWRAP_SPOOL=")
			cfg := sfConfig{url: rcv.URL, deadline: 5 * time.Second}.write(t)
			args := append([]string{"--config", cfg, "--"}, sfChild...)
			r := runPW(t, env, readyTimeout, args...)
			if !strings.Contains(r.stderr, "cannot use the default spool directory") {
				t.Skipf("the default spool was usable under HOME, XDG_STATE_HOME and STATE_DIRECTORY below a regular file: no fallback to test\n%s", clip([]byte(r.stderr)))
			}
			if r.code != 3 {
				t.Errorf("prodwrap exited %d, want the child's 3\n%s", r.code, clip([]byte(r.stderr)))
			}
			if !strings.Contains(r.stderr, "cannot use the temporary spool directory either") || !strings.Contains(r.stderr, planted) {
				t.Errorf("no error line saying the planted fallback %s is refused:\n%s", planted, clip([]byte(r.stderr)))
			}
			if !strings.Contains(r.stderr, "from memory") {
				t.Errorf("the log does not say the report goes to the sinks from memory:\n%s", clip([]byte(r.stderr)))
			}
			ids := summaryIDs(r.stderr)
			acked := rcv.ackedCopy()
			if len(ids) != 1 || acked[ids[0]] != 1 {
				t.Errorf("summary names %v; the receiver acknowledged %v; want the crash's report once, from memory\n%s", ids, acked, clip([]byte(r.stderr)))
			}
			fl := runPW(t, env, readyTimeout, "flush", "--config", cfg)
			t.Logf("flush beside the planted spool: exit %d, %s", fl.code, strings.TrimSpace(fl.stdout))
			if n := rcv.requestedCopy()[forgedID]; n != 0 {
				t.Errorf("the forged entry reached the receiver %d times", n)
			}
			if after := treeState(tmp) + treeState(victim); after != before {
				t.Errorf("prodwrap changed the planted directory or wrote through it:\nbefore:\n%safter:\n%s", before, after)
			}
			checkNoSecret(t, []string{tmp, victim}, r.stderr, fl.stderr)
		})
	}
}

func mustMkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// plantNonRegular puts a FIFO and a symbolic link to /dev/zero in the
// spool's pending/, as entries.
func plantNonRegular(t *testing.T, spool, suffix string) {
	t.Helper()
	pending := filepath.Join(spool, "pending")
	mustMkdir(t, pending, 0o700)
	if err := syscall.Mkfifo(filepath.Join(pending, "fifo"+suffix+".json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(pending, "zero"+suffix+".json")); err != nil {
		t.Fatal(err)
	}
}

// TestSpoolFaultsNonRegularEntries: a FIFO and a symbolic link to
// /dev/zero in pending/: `prodwrap flush` returns within 1 s more than a
// flush of an empty spool takes (the process's start), with a peak RSS
// under 64 MiB; a wrapped crash on such a spool exits with the child's
// status, its report delivered, within the same memory.
func TestSpoolFaultsNonRegularEntries(t *testing.T) {
	const maxRSS = 64 << 20
	rcv := startFaultReceiver(t, healthy, 0)
	cfg := sfConfig{url: rcv.URL, deadline: 5 * time.Second}.write(t)
	env := sfEnv()
	base := runMeasured(t, env, readyTimeout, "flush", "--config", cfg, "--spool", filepath.Join(t.TempDir(), "empty"))
	if base.code != 0 {
		t.Fatalf("flush of an empty spool: exit %d\n%s", base.code, base.stderr)
	}

	spool := filepath.Join(t.TempDir(), "spool")
	plantNonRegular(t, spool, "")
	r := runMeasured(t, env, 15*time.Second, "flush", "--config", cfg, "--spool", spool)
	t.Logf("flush: exit %d in %v, peak RSS %d KiB (an empty spool's: %v, %d KiB): %s", r.code, r.took.Round(time.Millisecond),
		r.maxRSS>>10, base.took.Round(time.Millisecond), base.maxRSS>>10, strings.TrimSpace(r.stdout))
	if r.took > time.Second+base.took {
		t.Errorf("flush took %v beside a FIFO and a link to /dev/zero, want within 1 s plus %v (an empty spool's flush)", r.took, base.took)
	}
	if r.maxRSS > maxRSS {
		t.Errorf("flush peaked at %d MiB of RSS, want under 64 MiB", r.maxRSS>>20)
	}
	if left := entryNames(spool, "pending"); len(left) != 0 {
		t.Errorf("pending/ still holds %v after the flush", left)
	}

	plantNonRegular(t, spool, "-again")
	args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
	w := runMeasured(t, env, 15*time.Second, args...)
	t.Logf("wrapped crash: exit %d in %v, peak RSS %d KiB", w.code, w.took.Round(time.Millisecond), w.maxRSS>>10)
	if w.code != 3 {
		t.Errorf("wrapped crash on the spool exited %d, want the child's 3\n%s", w.code, clip([]byte(w.stderr)))
	}
	if w.maxRSS > maxRSS {
		t.Errorf("the wrapped run peaked at %d MiB of RSS, want under 64 MiB", w.maxRSS>>20)
	}
	if ids := summaryIDs(w.stderr); len(ids) != 1 || rcv.ackedCopy()[ids[0]] != 1 {
		t.Errorf("summary names %v, the receiver acknowledged %v: want the crash's report once", ids, rcv.ackedCopy())
	}
	checkNoSecret(t, []string{spool}, r.stderr, w.stderr)
}

// TestSpoolFaultsCorruptEntries: entries that are not entries (garbage,
// binary, empty, truncated, {"report":{}}, a report without a crash, a
// 200 MB file) beside two good ones spooled while the receiver answered
// 503: one flush delivers the good ones once each and moves every bad one
// to quarantine/, naming each on stderr; the next flush exits 0 with
// nothing to say; the receiver never sees a bad one.
func TestSpoolFaultsCorruptEntries(t *testing.T) {
	rcv := startFaultReceiver(t, unavailable, 0)
	spool := filepath.Join(t.TempDir(), "spool")
	cfg := sfConfig{url: rcv.URL, deadline: 300 * time.Millisecond}.write(t)
	env := sfEnv()
	args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
	var stderrs []string
	for range 2 {
		r := runPW(t, env, readyTimeout, args...)
		stderrs = append(stderrs, r.stderr)
		if r.code != 3 {
			t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
		}
	}
	good := pendingIDs(spool)
	if len(good) != 2 {
		t.Fatalf("pending/ holds %v, want the 2 undelivered reports", good)
	}
	pending := filepath.Join(spool, "pending")
	whole, err := os.ReadFile(filepath.Join(pending, good[0]+".json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"garbage.json":   []byte("{not json"),
		"binary.json":    {0, 0xff, 0xfe, 0x1b, '[', 0x80, 0},
		"empty.json":     nil,
		"truncated.json": whole[:len(whole)/2],
		"noid.json":      []byte(`{"report":{}}`),
		"nocrash.json":   []byte(`{"report":{"id":"no-crash","schema":"prodwrap.report/1"}}`),
	}
	for name, b := range bad {
		mustWrite(t, filepath.Join(pending, name), b)
	}
	big, err := os.Create(filepath.Join(pending, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(200 << 20) // sparse: no disk spent
	big.Close()
	bad["big.json"] = nil

	rcv.setKind(healthy)
	r1 := runMeasured(t, env, readyTimeout, "flush", "--config", cfg, "--spool", spool)
	t.Logf("first flush: exit %d, %s, peak RSS %d KiB", r1.code, strings.TrimSpace(r1.stdout), r1.maxRSS>>10)
	if r1.maxRSS > 64<<20 {
		t.Errorf("the flush peaked at %d MiB of RSS beside a 200 MB entry, want under 64 MiB", r1.maxRSS>>20)
	}
	if !strings.Contains(r1.stdout, "delivered 2, remaining 0") {
		t.Errorf("first flush printed %q, want the 2 good entries delivered and nothing remaining", r1.stdout)
	}
	if left := entryNames(spool, "pending"); len(left) != 0 {
		t.Errorf("pending/ still holds %v after one flush", left)
	}
	q := entryNames(spool, "quarantine")
	for name := range bad {
		found := false
		for _, n := range q {
			found = found || strings.Contains(n, strings.TrimSuffix(name, ".json"))
		}
		if !found {
			t.Errorf("%s is not in quarantine/ (which holds %v)", name, q)
		}
		if !strings.Contains(r1.stderr, name) {
			t.Errorf("the first flush's stderr does not name %s", name)
		}
	}
	r2 := runPW(t, env, readyTimeout, "flush", "--config", cfg, "--spool", spool)
	if r2.code != 0 || !strings.Contains(r2.stdout, "delivered 0, remaining 0") {
		t.Errorf("second flush: exit %d, %q; want 0, nothing delivered, nothing remaining\n%s", r2.code, r2.stdout, r2.stderr)
	}
	if strings.Contains(r2.stderr, "quarantine") {
		t.Errorf("the second flush quarantined again:\n%s", r2.stderr)
	}
	if got := entryNames(spool, "quarantine"); len(got) != len(q) {
		t.Errorf("quarantine/ holds %v after the second flush, %v after the first", got, q)
	}
	acked, requested := rcv.ackedCopy(), rcv.requestedCopy()
	for _, id := range good {
		if acked[id] != 1 {
			t.Errorf("good entry %s acknowledged %d times, want 1", id, acked[id])
		}
	}
	for id, n := range requested {
		if id != good[0] && id != good[1] {
			t.Errorf("the receiver got %d requests for %q, not a good entry", n, id)
		}
	}
	checkNoSecret(t, []string{spool}, append(stderrs, r1.stderr, r2.stderr)...)
}

// TestSpoolFaultsRedirectIsNotFollowed: the webhook answers 301, 302, 307
// or 308 pointing to a second receiver, with the request's path and
// query (its token) in the Location. The report stays in the spool, after
// the wrapped run and after a flush; the second receiver sees no request,
// so neither the token nor the Authorization and X-Api-Key headers; the
// log names the redirect and no secret.
func TestSpoolFaultsRedirectIsNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			second := startFaultReceiver(t, healthy, 0)
			front := startFaultReceiver(t, redirecting, 0)
			front.redirectCode, front.redirectTo = code, second.srv.URL
			spool := filepath.Join(t.TempDir(), "spool")
			cfg := sfConfig{url: front.URL, deadline: time.Second}.write(t)
			env := sfEnv()
			args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
			r := runPW(t, env, readyTimeout, args...)
			if r.code != 3 {
				t.Errorf("exit %d, want the child's 3\n%s", r.code, clip([]byte(r.stderr)))
			}
			ids := summaryIDs(r.stderr)
			if len(ids) != 1 {
				t.Fatalf("summary names %v, want one report\n%s", ids, clip([]byte(r.stderr)))
			}
			fl := runPW(t, env, readyTimeout, "flush", "--config", cfg, "--spool", spool)
			if fl.code != 1 || !strings.Contains(fl.stdout, "remaining 1") {
				t.Errorf("flush through a %d: exit %d, %q; want 1 and the report remaining", code, fl.code, fl.stdout)
			}
			if left := pendingIDs(spool); len(left) != 1 || left[0] != ids[0] {
				t.Errorf("pending/ holds %v, want the report %s", left, ids[0])
			}
			if d := front.dump(); !strings.Contains(d, sfSecretToken) || !strings.Contains(d, sfSecretBearer) || !strings.Contains(d, sfSecretKey) {
				t.Errorf("the redirecting receiver did not get the credentials (so the test proves nothing):\n%s", d)
			}
			if n := second.callCount(); n != 0 {
				t.Errorf("the redirect's target got %d requests:\n%s", n, second.dump())
			}
			for _, s := range sfSecrets[:4] {
				if strings.Contains(second.dump(), s) {
					t.Errorf("the redirect's target saw the secret %q", s)
				}
			}
			if !strings.Contains(r.stderr, "redirect") {
				t.Errorf("the log does not name the redirect:\n%s", clip([]byte(r.stderr)))
			}
			checkNoSecret(t, []string{spool}, r.stderr, fl.stderr, fl.stdout)
		})
	}
}

// TestSpoolFaultsNoSecretLeaks: under each fault of the receiver — flaky,
// 503, 429, hanging, closing mid-body, redirecting, a 502 echoing the
// request, a refused connection — with debug logging and the file sink
// on, neither stderr nor any file under the spool (pending/, reports/,
// quarantine/, the rate-limit state) holds a secret of the test: the
// webhook's URL path and token, its header values, the password of the
// URLs in the child's arguments and environment.
func TestSpoolFaultsNoSecretLeaks(t *testing.T) {
	kinds := []faultKind{flaky, unavailable, rateLimited, hanging, closeMidBody, redirecting, echo502, -1}
	for _, kind := range kinds {
		name := faultNames[kind]
		if kind == -1 {
			name = "refused"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			second := startFaultReceiver(t, healthy, 0)
			rcv := startFaultReceiver(t, max(kind, healthy), 0)
			rcv.redirectCode, rcv.redirectTo = http.StatusTemporaryRedirect, second.srv.URL
			url := rcv.URL
			if kind == -1 {
				url = strings.Replace(refusingURL(t), "/hook", "/hook/"+sfSecretPath+"?token="+sfSecretToken, 1)
			}
			spool := filepath.Join(t.TempDir(), "spool")
			cfg := sfConfig{url: url, deadline: time.Second, fileDir: "spool", logDebug: true}.write(t)
			env := sfEnv()
			args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
			r := runPW(t, env, readyTimeout, args...)
			if r.code != 3 {
				t.Errorf("exit %d, want the child's 3\n%s", r.code, clip([]byte(r.stderr)))
			}
			// A torn copy of the entry (or, when it was delivered, of the
			// report), for quarantine/ to hold a real entry's bytes.
			torn := []byte(`{"report":`)
			if ids := pendingIDs(spool); len(ids) > 0 {
				torn, _ = os.ReadFile(filepath.Join(spool, "pending", ids[0]+".json"))
			} else if reps := entryNames(spool, "reports"); len(reps) > 0 {
				b, _ := os.ReadFile(filepath.Join(spool, "reports", reps[0]))
				torn = append(torn, b...)
			}
			mustWrite(t, filepath.Join(spool, "pending", "0-torn.json"), torn[:len(torn)/2])
			fl := runPW(t, env, readyTimeout, "flush", "--config", cfg, "--spool", spool)
			if kind == echo502 && !strings.Contains(r.stderr+fl.stderr, "502") {
				t.Errorf("the 502 is not logged:\n%s", clip([]byte(r.stderr)))
			}
			if second.callCount() != 0 {
				t.Errorf("the redirect's target got %d requests", second.callCount())
			}
			reps := entryNames(spool, "reports")
			if len(reps) == 0 {
				t.Errorf("the file sink wrote no report")
			} else if b, _ := os.ReadFile(filepath.Join(spool, "reports", reps[0])); !bytes.Contains(b, []byte("@db.internal/app")) {
				t.Errorf("the report does not hold the child's argument with the database URL (so the test proves nothing):\n%s", b)
			}
			if q := entryNames(spool, "quarantine"); len(q) == 0 {
				t.Errorf("quarantine/ holds nothing: the torn copy of the entry was not quarantined")
			}
			t.Logf("%d requests; flush: exit %d, %s", rcv.callCount(), fl.code, strings.TrimSpace(fl.stdout))
			checkNoSecret(t, []string{spool}, r.stderr, r.stdout, fl.stderr, fl.stdout)
		})
	}
}

// TestSpoolFaultsRateLimitAcrossProcesses: the webhook answers 429 with
// Retry-After: 60. Two prodwrap processes run one after the other on the
// same spool (each with its own crash, and the second's background flush
// of the first's report), then a `prodwrap flush`: inside the 60 s
// window, the receiver gets the first request only; both reports wait in
// the spool; no run waits for the limit past its delivery deadline.
func TestSpoolFaultsRateLimitAcrossProcesses(t *testing.T) {
	rcv := startFaultReceiver(t, rateLimited, 0)
	spool := filepath.Join(t.TempDir(), "spool")
	cfg := sfConfig{url: rcv.URL, deadline: 2 * time.Second}.write(t)
	env := sfEnv()
	args := append([]string{"--config", cfg, "--spool", spool, "--"}, sfChild...)
	start := time.Now()
	var stderrs []string
	for i := range 2 {
		r := runPW(t, env, readyTimeout, args...)
		stderrs = append(stderrs, r.stderr)
		if r.code != 3 {
			t.Errorf("run %d: exit %d, want the child's 3\n%s", i, r.code, clip([]byte(r.stderr)))
		}
		if r.took > 2*time.Second+5*time.Second {
			t.Errorf("run %d took %v: it waited for the limit past its 2 s deadline", i, r.took)
		}
		if n := rcv.callCount(); n != 1 {
			t.Errorf("after run %d the receiver got %d requests, want 1 (the one answered 429)", i, n)
		}
	}
	fl := runPW(t, env, readyTimeout, "flush", "--config", cfg, "--spool", spool)
	if fl.code != 1 || !strings.Contains(fl.stdout, "remaining 2") {
		t.Errorf("flush inside the limit: exit %d, %q; want 1 and both reports remaining", fl.code, fl.stdout)
	}
	if n := rcv.callCount(); n != 1 {
		t.Errorf("the receiver got %d requests inside the 60 s limit, want 1", n)
	}
	if took := time.Since(start); took >= 60*time.Second {
		t.Fatalf("the runs took %v: the window was over before the checks", took)
	}
	if left := pendingIDs(spool); len(left) != 2 {
		t.Errorf("pending/ holds %v, want both reports", left)
	}
	if _, err := os.Stat(filepath.Join(spool, "ratelimits.json")); err != nil {
		t.Errorf("no rate-limit state in the spool: %v", err)
	}
	checkNoSecret(t, []string{spool}, append(stderrs, fl.stderr)...)
}
