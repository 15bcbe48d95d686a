package notify_test

// Tests of the spool and the HTTP sinks under faults: receivers on
// 127.0.0.1 that misbehave on purpose, entries planted in pending/, a
// spool that cannot be written, several goroutines and processes sharing
// one spool.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/notify"
)

// The test's secrets: in the webhook's URL (path and query) and headers.
const (
	secretPath   = "secret-path-8d1f"
	secretToken  = "tok-secret-42c7"
	secretBearer = "hook-secret"
	secretAPIKey = "key-secret-77aa"
)

var secrets = []string{secretPath, secretToken, secretBearer, secretAPIKey}

// secretHook is a webhook to base carrying every secret of the test.
func secretHook(t *testing.T, base string) *notify.Webhook {
	t.Helper()
	hook, err := notify.NewWebhook(notify.WebhookOptions{
		URL:     base + "/hook/" + secretPath + "?token=" + secretToken,
		Headers: map[string]string{"Authorization": "Bearer " + secretBearer, "X-Api-Key": secretAPIKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	return hook
}

// noSecret fails the test when any of the test's secrets is in what.
func noSecret(t *testing.T, where, what string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(what, s) {
			t.Errorf("%s holds the secret %q:\n%s", where, s, what)
		}
	}
}

// counter is a receiver that counts each report it accepted, by id.
type counter struct {
	*httptest.Server
	mu       sync.Mutex
	accepted map[string]int
	calls    atomic.Int64
}

// newCounter starts a counter; handle, when set, answers instead of it
// when it returns true (a fault).
func newCounter(t *testing.T, handle func(n int64, w http.ResponseWriter, r *http.Request) bool) *counter {
	c := &counter{accepted: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.calls.Add(1)
		if handle != nil && handle(n, w, r) {
			return
		}
		var rep struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil || rep.ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.accepted[rep.ID]++
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted[id]
}

func (c *counter) all() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.accepted {
		m[k] = v
	}
	return m
}

func openSpool(t *testing.T, dir string) *notify.Spool {
	t.Helper()
	sp, err := notify.OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// spoolReports puts reports id-0 … id-(n-1) in the spool, unclaimed.
func spoolReports(t *testing.T, sp *notify.Spool, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%03d", prefix, i)
		e, err := sp.Put(testReport(id))
		if err != nil {
			t.Fatal(err)
		}
		sp.Release(e)
		ids = append(ids, id)
	}
	return ids
}

// TestRedirectIsNotFollowed: a receiver answering 301, 302, 307 or 308 to
// a second receiver makes the delivery fail (the report stays spooled, the
// log names the redirect with its Location masked), and the second
// receiver gets no request at all, so none of the credentials.
func TestRedirectIsNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var second atomic.Int64
			var seen bytes.Buffer
			var mu sync.Mutex
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				second.Add(1)
				b, _ := httputil.DumpRequest(r, true)
				mu.Lock()
				seen.Write(b)
				mu.Unlock()
			}))
			defer target.Close()
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.RequestURI(), code)
			}))
			defer front.Close()
			var log bytes.Buffer
			sp := openSpool(t, t.TempDir())
			sentry, err := notify.NewSentry(notify.SentryOptions{DSN: strings.Replace(front.URL, "http://", "http://"+secretAPIKey+"@", 1) + "/7"})
			if err != nil {
				t.Fatal(err)
			}
			d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{secretHook(t, front.URL), sentry}, Deadline: 2 * time.Second,
				Logger: slog.New(slog.NewTextHandler(&log, nil)), Clock: newFakeClock()}
			out, err := d.Deliver(context.Background(), testReport("redirected"))
			if err != nil {
				t.Fatal(err)
			}
			if out.Complete() || len(out.Failed) != 2 {
				t.Fatalf("delivered through a %d: %+v", code, out)
			}
			if entries, _ := sp.List(); len(entries) != 1 {
				t.Errorf("spool holds %d entries, want the report", len(entries))
			}
			if n := second.Load(); n != 0 {
				t.Errorf("the redirect's target got %d requests:\n%s", n, seen.String())
			}
			for sink, e := range out.Failed {
				var he *notify.HTTPError
				if !errors.As(e, &he) || he.Status != code || !notify.IsPermanent(e) {
					t.Errorf("%s: %v, want a permanent HTTP %d", sink, e, code)
				}
				noSecret(t, sink+"'s error", e.Error())
			}
			if !strings.Contains(log.String(), "redirect") || !strings.Contains(log.String(), strings.TrimPrefix(target.URL, "http://")) {
				t.Errorf("the log does not say where the redirect pointed:\n%s", log.String())
			}
			noSecret(t, "the log", log.String())
		})
	}
}

// TestErrorBodyIsCutAndMasked: a 502 whose page echoes the request (its
// URL with the token, its headers) is logged cut short, the secrets
// masked, even escaped as a JSON page would show them.
func TestErrorBodyIsCutAndMasked(t *testing.T) {
	echo := func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		dump, _ := httputil.DumpRequest(r, false)
		js, _ := json.Marshal(map[string]string{"url": r.URL.String(), "auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key")})
		w.WriteHeader(http.StatusBadGateway)
		w.Write(js)
		w.Write(dump)
		w.Write(bytes.Repeat([]byte("padding "), 4000))
		return true
	}
	rcv := newCounter(t, echo)
	var log bytes.Buffer
	sp := openSpool(t, t.TempDir())
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: 2 * time.Second,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Logger: slog.New(slog.NewTextHandler(&log, nil)), Clock: newFakeClock()}
	out, _ := d.Deliver(context.Background(), testReport("echoed"))
	err := out.Failed["webhook"]
	if err == nil || !strings.Contains(err.Error(), "HTTP 502") {
		t.Fatalf("outcome %+v", out)
	}
	if len(err.Error()) > 600 {
		t.Errorf("error of %d bytes, want the body cut short: %.200s…", len(err.Error()), err)
	}
	if !strings.Contains(err.Error(), "***") {
		t.Errorf("no masked secret in %q", err)
	}
	noSecret(t, "the error", err.Error())
	noSecret(t, "the log", log.String())
}

// TestUntrustedEntriesAreQuarantined: a FIFO, a symbolic link to
// /dev/zero, a 200 MB file, garbage, an entry without id and one without
// crash in pending/ neither block nor bloat a flush: each is moved to
// quarantine/ once, with one error (a log line) each, and the good entry
// beside them is delivered once. The next flush finds nothing wrong.
func TestUntrustedEntriesAreQuarantined(t *testing.T) {
	dir := t.TempDir()
	sp := openSpool(t, dir)
	pending := filepath.Join(dir, "pending")
	if err := syscall.Mkfifo(filepath.Join(pending, "fifo.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(pending, "zero.json")); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(pending, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(200 << 20) // sparse: no disk spent
	big.Close()
	for name, body := range map[string]string{
		"garbage.json":   "{not json",
		"noid.json":      `{"report":{}}`,
		"nocrash.json":   `{"report":{"id":"x","schema":"prodwrap.report/1"}}`,
		"noreport.json":  `{"acked":{}}`,
		".tmp-123":       "a write in progress is not an entry",
		"unrelated.lock": "",
	} {
		if err := os.WriteFile(filepath.Join(pending, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spoolReports(t, sp, "good", 1)
	// Its lock file replaced by a link to where no file must appear.
	victim := filepath.Join(t.TempDir(), "victim")
	os.Remove(filepath.Join(pending, "good-000.lock"))
	if err := os.Symlink(victim, filepath.Join(pending, "good-000.lock")); err != nil {
		t.Fatal(err)
	}
	rcv := newCounter(t, nil)
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: 5 * time.Second, Clock: newFakeClock()}

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan *notify.FlushResult)
	go func() {
		res, _ := d.Flush(context.Background())
		done <- res
	}()
	var res *notify.FlushResult
	select {
	case res = <-done:
	case <-time.After(time.Second):
		t.Fatal("flush blocked on an entry for more than 1s")
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 32<<20 {
		t.Errorf("flush allocated %d MiB", grown>>20)
	}
	if len(res.Errors) != 7 || res.Delivered != 1 || res.Remaining != 0 {
		t.Errorf("flush: delivered %d, remaining %d, %d errors, want 1, 0, 7:\n%v", res.Delivered, res.Remaining, len(res.Errors), errors.Join(res.Errors...))
	}
	for _, e := range res.Errors {
		if msg := e.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "quarantine") {
			t.Errorf("not one line naming the quarantine: %q", msg)
		}
	}
	q, _ := os.ReadDir(filepath.Join(dir, "quarantine"))
	if len(q) != 7 {
		t.Errorf("quarantine/ holds %d files, want 7", len(q))
	}
	if rcv.count("good-000") != 1 || rcv.calls.Load() != 1 {
		t.Errorf("receiver: %v in %d calls, want the good entry once", rcv.all(), rcv.calls.Load())
	}
	if _, err := os.Lstat(victim); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock's link was followed: %v", err)
	}
	res, _ = d.Flush(context.Background())
	if len(res.Errors) != 0 || res.Remaining != 0 {
		t.Errorf("second flush: remaining %d, errors %v; want nothing left", res.Remaining, res.Errors)
	}
	if _, err := os.Stat(filepath.Join(pending, ".tmp-123")); err != nil {
		t.Errorf("a temporary file was taken for an entry: %v", err)
	}
}

// TestQuarantineIsBounded: quarantine/ keeps the newest files within its
// count and byte limits.
func TestQuarantineIsBounded(t *testing.T) {
	for _, tt := range []struct {
		files int
		bytes int64
		want  []string
	}{
		{3, 0, []string{"bad-2.json", "bad-3.json", "bad-4.json"}},
		{0, 2*4096 + 100, []string{"bad-3.json", "bad-4.json"}}, // each takes one 4 KiB block
	} {
		dir := t.TempDir()
		sp := openSpool(t, dir)
		sp.MaxQuarantineFiles, sp.MaxQuarantineBytes = tt.files, tt.bytes
		for i := range 5 {
			p := filepath.Join(dir, "pending", fmt.Sprintf("bad-%d.json", i))
			os.WriteFile(p, bytes.Repeat([]byte("x"), 4096), 0o600)
			if _, errs := sp.List(); len(errs) != 1 {
				t.Fatalf("List: %v", errs)
			}
			// Quarantined files keep their time; make their order plain.
			mod := time.Now().Add(time.Duration(i-10) * time.Minute)
			os.Chtimes(filepath.Join(dir, "quarantine", filepath.Base(p)), mod, mod)
		}
		var got []string
		q, _ := os.ReadDir(filepath.Join(dir, "quarantine"))
		for _, de := range q {
			got = append(got, de.Name())
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("limits %d files, %d bytes: quarantine/ holds %v, want %v", tt.files, tt.bytes, got, tt.want)
		}
	}
}

// TestSpoolFailureDeliversFromMemory: when the entry cannot be written
// (pending/ is gone, the report is too large for an entry, there is no
// spool), every sink still gets the report, the Outcome says it was not
// spooled and the error why.
func TestSpoolFailureDeliversFromMemory(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, d *notify.Dispatcher)
	}{
		{"pending is not a directory", func(t *testing.T, d *notify.Dispatcher) {
			p := filepath.Join(d.Spool.Dir(), "pending")
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, nil, 0o600)
		}},
		{"no spool", func(t *testing.T, d *notify.Dispatcher) {
			d.Spool = nil
			var none *notify.Spool
			if entries, errs := none.List(); none.Dir() != "" || len(entries)+len(errs) != 0 {
				t.Errorf("a nil Spool lists %v %v", entries, errs)
			}
			if _, err := none.Put(testReport("x")); err == nil {
				t.Error("a nil Spool took a report")
			}
			if res, err := d.Flush(context.Background()); err != nil || res.Remaining+res.Delivered+len(res.Errors) != 0 {
				t.Errorf("Flush without a spool: %+v %v", res, err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newCounter(t, nil)
			var log bytes.Buffer
			sp := openSpool(t, t.TempDir())
			file, err := notify.NewFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{file, secretHook(t, rcv.URL)}, Clock: newFakeClock(),
				Logger: slog.New(slog.NewTextHandler(&log, nil))}
			tt.setup(t, d)
			r := testReport("unspooled")
			out, err := d.Deliver(context.Background(), r)
			if !errors.Is(err, notify.ErrNotSpooled) || out == nil {
				t.Fatalf("Deliver: %v, %+v; want ErrNotSpooled and an outcome", err, out)
			}
			if out.Spooled || !out.Complete() || len(out.Acked) != 2 {
				t.Errorf("outcome %+v, want both sinks acknowledged, not spooled", out)
			}
			if rcv.count("unspooled") != 1 {
				t.Errorf("webhook got the report %d times", rcv.count("unspooled"))
			}
			if _, err := os.Stat(file.Path(r)); err != nil {
				t.Errorf("file sink: %v", err)
			}
			if !strings.Contains(log.String(), "from memory") {
				t.Errorf("the log does not say the report went from memory:\n%s", log.String())
			}
		})
	}
}

// TestOwnedSpool: a fallback spool is created private; one that exists
// and is not ours — a symbolic link, group- or world-writable, another
// user's — is refused, and nothing is written through it nor read from it.
func TestOwnedSpool(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if _, err := notify.OpenOwnedSpool(fresh); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(fresh); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created %v (%v), want mode 0700", fi.Mode(), err)
	}
	if _, err := notify.OpenOwnedSpool(fresh); err != nil {
		t.Errorf("reopening our own spool: %v", err)
	}

	victim := filepath.Join(base, "victim")
	os.Mkdir(victim, 0o700)
	link := filepath.Join(base, "link")
	os.Symlink(victim, link)
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	planted := map[string]string{"a symbolic link": link, "mode 0777": open}
	if os.Geteuid() == 0 {
		other := filepath.Join(base, "other")
		os.Mkdir(other, 0o700)
		os.Mkdir(filepath.Join(other, "pending"), 0o700)
		b, _ := json.Marshal(map[string]any{"report": testReport("forged")})
		os.WriteFile(filepath.Join(other, "pending", "forged.json"), b, 0o600)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		planted["another user's"] = other
	}
	for what, dir := range planted {
		sp, err := notify.OpenOwnedSpool(dir)
		if err == nil || sp != nil {
			t.Errorf("%s directory accepted", what)
			continue
		}
		if strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: %q, want one line naming the directory", what, err)
		}
	}
	if des, _ := os.ReadDir(victim); len(des) != 0 {
		t.Errorf("written through the symbolic link: %v", des)
	}

	// Inside any spool, pending/ is never followed through a link.
	sp := t.TempDir()
	os.Symlink(victim, filepath.Join(sp, "pending"))
	if _, err := notify.OpenSpool(sp); err == nil {
		t.Error("a spool whose pending/ is a symbolic link was opened")
	}
}

// makeReadOnly makes dir refuse new files and renames, for root too
// (root: the ext4 immutable flag; others: mode 0500), until the test ends.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	const immutable = 0x10 // FS_IMMUTABLE_FL
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|immutable))
	}
	if err != nil {
		t.Skipf("cannot make %s read-only for root (the immutable flag: %v)", dir, err)
	}
	t.Cleanup(func() {
		f, err := os.Open(dir)
		if err == nil {
			unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
			f.Close()
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
		t.Skip("the immutable flag did not hold")
	}
}

// TestUnrecordedAckIsTheTruth: on a spool that cannot be written, a flush
// whose sink acknowledged cannot record it: it says so (an error, the
// entry counted in Remaining, not Delivered), and the same process does
// not send that sink the report again.
func TestUnrecordedAckIsTheTruth(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	rcv := newCounter(t, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	dir := t.TempDir()
	sp := openSpool(t, dir)
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: time.Second,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Clock: newFakeClock()}
	if out, err := d.Deliver(context.Background(), testReport("ro")); err != nil || out.Complete() {
		t.Fatalf("Deliver: %v %+v", err, out)
	}
	makeReadOnly(t, filepath.Join(dir, "pending"))
	down.Store(false)
	for i := range 3 {
		res, _ := d.Flush(context.Background())
		if res.Delivered != 0 || res.Remaining != 1 || len(res.Errors) != 1 {
			t.Errorf("flush %d on a read-only spool: delivered %d, remaining %d, errors %v; want 0, 1, one error", i, res.Delivered, res.Remaining, res.Errors)
		}
	}
	if n := rcv.count("ro"); n != 1 {
		t.Errorf("the sink got the report %d times from one process, want 1", n)
	}
}

// TestRateLimitIsRemembered: a rate limit a Sentry answer announced (on a
// 200, in X-Sentry-Rate-Limits) or a webhook's 429 asked for holds for the
// next reports and for another process on the spool: no request inside
// the window, the reports wait in the spool, and go out after it.
func TestRateLimitIsRemembered(t *testing.T) {
	t.Parallel()
	t.Run("sentry, 200 with X-Sentry-Rate-Limits", func(t *testing.T) {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("X-Sentry-Rate-Limits", "60:error:organization")
			}
			io.Copy(io.Discard, r.Body)
		}))
		defer srv.Close()
		dir := t.TempDir()
		newSentry := func() notify.Sink {
			s, err := notify.NewSentry(notify.SentryOptions{DSN: strings.Replace(srv.URL, "http://", "http://key@", 1) + "/3"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		clock := newFakeClock()
		d := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{newSentry()}, Deadline: 5 * time.Second, Clock: clock}
		if out, err := d.Deliver(context.Background(), testReport("first")); err != nil || !out.Complete() {
			t.Fatalf("first report: %v %+v", err, out)
		}
		out, err := d.Deliver(context.Background(), testReport("second"))
		if err != nil || !errors.Is(out.Failed["sentry"], notify.ErrRateLimited) {
			t.Fatalf("second report inside the limit: %v %+v", err, out.Failed)
		}
		// Another process: its own Spool on the directory, its own sink.
		d2 := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{newSentry()}, Deadline: 5 * time.Second, Clock: clock}
		if res, _ := d2.Flush(context.Background()); res.Remaining != 1 || calls.Load() != 1 {
			t.Fatalf("flush inside the limit: remaining %d, %d requests; want 1 and 1", res.Remaining, calls.Load())
		}
		clock.Advance(61 * time.Second)
		if res, _ := d2.Flush(context.Background()); res.Delivered != 1 || res.Remaining != 0 || calls.Load() != 2 {
			t.Errorf("flush after the limit: delivered %d, remaining %d, %d requests; want 1, 0, 2", res.Delivered, res.Remaining, calls.Load())
		}
	})
	t.Run("webhook, 429 with Retry-After, across processes", func(t *testing.T) {
		rcv := newCounter(t, func(n int64, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		})
		dir := t.TempDir()
		d := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: 2 * time.Second}
		start := time.Now()
		for _, id := range []string{"a", "b"} {
			out, err := d.Deliver(context.Background(), testReport(id))
			if err != nil || out.Complete() {
				t.Fatalf("Deliver %s inside the limit: %v %+v", id, err, out)
			}
		}
		state, _ := os.ReadFile(filepath.Join(dir, "ratelimits.json"))
		noSecret(t, "the rate limit state", string(state))
		// A sink of the same name to another receiver, in another
		// configuration sharing the spool, is not limited.
		other := newCounter(t, nil)
		d2 := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{secretHook(t, other.URL)}, Deadline: 2 * time.Second}
		if out, err := d2.Deliver(context.Background(), testReport("elsewhere")); err != nil || !out.Complete() || other.count("elsewhere") != 1 {
			t.Errorf("another receiver of a sink of the same name: %v %+v", err, out)
		}
		res := runHelper(t, "flush-once", dir, rcv.URL)
		if rcv.calls.Load() != 1 || !strings.Contains(res, "remaining 2") {
			t.Errorf("another process flushed inside the limit: %s, the receiver got %d requests, want 1", res, rcv.calls.Load())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the limited deliveries took %v; they must not wait for a limit past the deadline", took)
		}
	})
}

// TestClaimsDeliverEachEntryOnce: four processes and four goroutines
// flush one spool, while two goroutines deliver new reports through a
// shared Dispatcher, against a slow and flaky receiver: every report is
// received, none twice.
func TestClaimsDeliverEachEntryOnce(t *testing.T) {
	t.Parallel()
	rcv := newCounter(t, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(2 * time.Millisecond)
		if n%5 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	dir := t.TempDir()
	ids := spoolReports(t, openSpool(t, dir), "spooled", 120)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if res := runHelper(t, "flush", dir, rcv.URL); !strings.Contains(res, "ok") {
				t.Errorf("helper: %s", res)
			}
		})
	}
	shared := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{secretHook(t, rcv.URL)},
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	var mu sync.Mutex
	for g := range 2 {
		wg.Go(func() {
			for i := range 20 {
				id := fmt.Sprintf("delivered-%d-%02d", g, i)
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
				if _, err := shared.Deliver(context.Background(), testReport(id)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() { flushUntilEmpty(t, shared) })
	}
	wg.Wait()
	flushUntilEmpty(t, shared)

	got := rcv.all()
	lost, doubled := 0, 0
	for _, id := range ids {
		switch n := got[id]; {
		case n == 0:
			lost++
		case n > 1:
			doubled++
			t.Errorf("%s received %d times", id, n)
		}
	}
	if lost != 0 || doubled != 0 || len(got) != len(ids) {
		t.Errorf("%d reports: %d lost, %d received more than once, %d distinct received", len(ids), lost, doubled, len(got))
	}
	if entries, errs := shared.Spool.List(); len(entries)+len(errs) != 0 {
		t.Errorf("spool still holds %d entries (%v)", len(entries), errs)
	}
}

// flushUntilEmpty flushes until the spool holds nothing, for 20 s at most.
func flushUntilEmpty(t *testing.T, d *notify.Dispatcher) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, _ := d.Flush(context.Background())
		if res.Remaining == 0 {
			if entries, _ := d.Spool.List(); len(entries) == 0 {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("the spool was not emptied in 20 s")
}

// The helper process: TestMain runs helperMain instead of the tests when
// NOTIFY_TEST_HELPER is set (the os/exec helper-process pattern).
const helperEnv = "NOTIFY_TEST_HELPER"

// runHelper runs this test binary as a helper process doing what on the
// spool in dir, delivering to url, and returns what it printed.
func runHelper(t *testing.T, what, dir, url string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+what, "NOTIFY_TEST_SPOOL="+dir, "NOTIFY_TEST_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("helper %s: %v\n%s", what, err, out)
	}
	return string(out)
}

// helperMain is the helper process: "flush" flushes until the spool is
// empty, "flush-once" flushes once; both print what was done.
func helperMain(what string) int {
	sp, err := notify.OpenSpool(os.Getenv("NOTIFY_TEST_SPOOL"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	hook, err := notify.NewWebhook(notify.WebhookOptions{
		URL:     os.Getenv("NOTIFY_TEST_URL") + "/hook/" + secretPath + "?token=" + secretToken,
		Headers: map[string]string{"Authorization": "Bearer " + secretBearer, "X-Api-Key": secretAPIKey},
	})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{hook}, Deadline: 2 * time.Second,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	switch what {
	case "deliver":
		// Hangs on the receiver until killed, holding the claim.
		d.Deadline = time.Hour
		d.Deliver(context.Background(), testReport("killed"))
		return 0
	case "deliver-loop":
		// Delivers reports until killed, printing each id once spooled
		// and delivered.
		for i := 0; ; i++ {
			id := fmt.Sprintf("%s-%04d", os.Getenv("NOTIFY_TEST_PREFIX"), i)
			out, err := d.Deliver(context.Background(), testReport(id))
			if err == nil && out.Complete() {
				fmt.Println(id)
			}
		}
	case "flush-once":
		res, _ := d.Flush(context.Background())
		fmt.Printf("delivered %d, remaining %d\n", res.Delivered, res.Remaining)
		return 0
	case "flush":
		deadline := time.Now().Add(20 * time.Second)
		delivered := 0
		for time.Now().Before(deadline) {
			res, _ := d.Flush(context.Background())
			delivered += res.Delivered
			if entries, _ := sp.List(); len(entries) == 0 {
				fmt.Printf("ok: delivered %d\n", delivered)
				return 0
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Println("the spool was not emptied in 20 s")
		return 1
	}
	fmt.Println("unknown helper", what)
	return 2
}

// TestLeftoversOfDeadProcessesAreRemoved: a temporary file of a write
// that never finished and a lock file whose entry is gone, both older
// than any write takes, are removed by the next listing; fresh ones and a
// held lock are left alone.
func TestLeftoversOfDeadProcessesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	sp := openSpool(t, dir)
	pending := filepath.Join(dir, "pending")
	old := time.Now().Add(-time.Hour)
	for _, name := range []string{".tmp-old", "orphan.lock", ".tmp-new", "fresh.lock"} {
		p := filepath.Join(pending, name)
		os.WriteFile(p, []byte("x"), 0o600)
		if strings.Contains(name, "old") || strings.Contains(name, "orphan") {
			os.Chtimes(p, old, old)
		}
	}
	put, err := sp.Put(testReport("held"))
	if err != nil {
		t.Fatal(err)
	}
	held, err := notify.ClaimForTest(sp, put)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Release(held)
	os.Chtimes(filepath.Join(pending, "held.lock"), old, old)
	sp.List()
	var left []string
	des, _ := os.ReadDir(pending)
	for _, de := range des {
		left = append(left, de.Name())
	}
	if want := "[.tmp-new fresh.lock held.json held.lock]"; fmt.Sprint(left) != want {
		t.Errorf("pending/ holds %v, want %s", left, want)
	}
}

// TestClaimOfAKilledProcessIsFree: while a process delivers an entry (to a
// receiver that hangs) a flush skips it; once that process is killed with
// SIGKILL, the claim is free at once and the next flush delivers the entry.
func TestClaimOfAKilledProcessIsFree(t *testing.T) {
	t.Parallel()
	var hang atomic.Bool
	hang.Store(true)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	rcv := newCounter(t, func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		if !hang.Load() {
			return false
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	dir := t.TempDir()
	openSpool(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=deliver", "NOTIFY_TEST_SPOOL="+dir, "NOTIFY_TEST_URL="+rcv.URL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the helper's delivery did not reach the receiver")
	}
	d := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: 2 * time.Second, Clock: newFakeClock()}
	if res, _ := d.Flush(context.Background()); res.Busy != 1 || res.Remaining != 1 || res.Delivered != 0 {
		t.Fatalf("flush beside a live delivery: %+v, want it busy", res)
	}
	cmd.Process.Kill()
	cmd.Wait()
	hang.Store(false)
	res, _ := d.Flush(context.Background())
	if res.Delivered != 1 || res.Remaining != 0 || rcv.count("killed") != 1 {
		t.Errorf("flush after the kill: %+v, receiver %v; want the entry delivered once", res, rcv.all())
	}
}

// TestFileSinkRetention: the file sink keeps its newest reports within
// its limits and never removes a file it did not write.
func TestFileSinkRetention(t *testing.T) {
	dir := t.TempDir()
	file, err := notify.NewFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	file.MaxFiles = 3
	os.WriteFile(filepath.Join(dir, "notes.json"), []byte("the operator's"), 0o600)
	for i := range 5 {
		r := testReport(fmt.Sprintf("kept-%d", i))
		r.Time = r.Time.Add(time.Duration(i) * time.Minute)
		if err := file.Notify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		left = append(left, de.Name())
	}
	want := "[20261124T100200.000000000Z-kept-2.json 20261124T100300.000000000Z-kept-3.json 20261124T100400.000000000Z-kept-4.json notes.json]"
	if fmt.Sprint(left) != want {
		t.Errorf("report directory holds %v, want %s", left, want)
	}
}

// TestSlackPostsWhenFloodStateFails: flood control whose state cannot be
// written (its directory cannot be made) does not hold the message back.
func TestSlackPostsWhenFloodStateFails(t *testing.T) {
	srv, got := recorder(t, "ok")
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	sl, err := notify.NewSlack(notify.SlackOptions{WebhookURL: srv.URL + "/hook", Flood: &notify.Flood{Dir: filepath.Join(notDir, "spool")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sl.Notify(context.Background(), crashReport()); err != nil {
		t.Errorf("Notify: %v", err)
	}
	select {
	case <-got:
	default:
		t.Error("no message posted")
	}
}

// TestSIGKILLDuringDeliveryLosesNothing: processes delivering reports are
// killed with SIGKILL at random moments; a final flush then leaves the
// spool empty with nothing quarantined (no entry was torn), every report
// a process saw delivered was received, and duplicates (the documented
// window between a 2xx and its record) are counted.
func TestSIGKILLDuringDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	rcv := newCounter(t, func(int64, http.ResponseWriter, *http.Request) bool {
		time.Sleep(time.Millisecond)
		return false
	})
	dir := t.TempDir()
	openSpool(t, dir)
	var delivered []string
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=deliver-loop", "NOTIFY_TEST_SPOOL="+dir, "NOTIFY_TEST_URL="+rcv.URL,
			fmt.Sprintf("NOTIFY_TEST_PREFIX=round%d", round))
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+round*37%150) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		delivered = append(delivered, strings.Fields(out.String())...)
	}
	d := &notify.Dispatcher{Spool: openSpool(t, dir), Sinks: []notify.Sink{secretHook(t, rcv.URL)}, Deadline: 10 * time.Second}
	res, _ := d.Flush(context.Background())
	if res.Remaining != 0 || len(res.Errors) != 0 {
		t.Errorf("final flush: %+v", res)
	}
	for _, sub := range []string{"pending", "quarantine"} {
		des, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, de := range des {
			if strings.HasSuffix(de.Name(), ".json") {
				t.Errorf("%s/ holds %s after the final flush", sub, de.Name())
			}
		}
	}
	got := rcv.all()
	for _, id := range delivered {
		if got[id] == 0 {
			t.Errorf("%s was delivered by its process but not received", id)
		}
	}
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	if len(delivered) == 0 {
		t.Fatal("no process delivered anything before it was killed")
	}
	t.Logf("%d reports received, %d duplicates (a kill between a 2xx and its record)", len(got), dups)
}

// TestSpoolingTwiceKeepsTheAcks: the same report spooled again (handed
// over twice) keeps its entry and what acknowledged it: no sink gets it
// twice.
func TestSpoolingTwiceKeepsTheAcks(t *testing.T) {
	rcv := newCounter(t, func(n int64, w http.ResponseWriter, _ *http.Request) bool {
		if n > 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	file, err := notify.NewFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	down := newCounter(t, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	other, _ := notify.NewWebhook(notify.WebhookOptions{Name: "down", URL: down.URL})
	d := &notify.Dispatcher{Spool: openSpool(t, t.TempDir()), Sinks: []notify.Sink{file, secretHook(t, rcv.URL), other},
		Deadline: time.Second, MinBackoff: 100 * time.Millisecond, Clock: newFakeClock()}
	for range 2 {
		d.Deliver(context.Background(), testReport("twice"))
	}
	if n := rcv.count("twice"); n != 1 || rcv.calls.Load() != 1 {
		t.Errorf("webhook got the report %d times in %d calls, want once", n, rcv.calls.Load())
	}
}
