package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

func TestMain(m *testing.M) {
	if what := os.Getenv(helperEnv); what != "" {
		os.Exit(helperMain(what))
	}
	goleak.VerifyTestMain(m,
		// slacktest's hub keeps a goroutine per websocket and per queued
		// message for the life of the process.
		goleak.IgnoreAnyFunction("github.com/slack-go/slack/slacktest.handlePendingMessages"),
		goleak.IgnoreAnyFunction("github.com/slack-go/slack/slacktest.(*Server).queueForWebsocket"),
		goleak.IgnoreAnyFunction("github.com/slack-go/slack/slacktest.(*Server).wsHandler"),
	)
}

func testReport(id string) *report.Report {
	return &report.Report{
		Schema: report.Schema, ID: id, Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		Service: "api", Host: report.Host{Hostname: "host-a", OS: "linux", Arch: "amd64"},
		Exit: report.Exit{Code: 2},
		Crash: &parse.Crash{Kind: parse.KindPanic, Crashing: true, Message: "boom",
			Culprit: &parse.FrameRef{Function: "main.handle", File: "/src/api/server.go", Line: 42}},
		Fingerprint: []string{"panic", "boom", "main.handle"},
	}
}

// receiver is a loopback webhook receiver whose answers follow a script;
// after the script it answers 200. It counts the reports it accepted.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	script   []func(w http.ResponseWriter)
	accepted map[string]int
	calls    atomic.Int64
	errs     chan error
}

func newReceiver(t *testing.T, script ...func(w http.ResponseWriter)) *receiver {
	r := &receiver{script: script, accepted: map[string]int{}, errs: make(chan error, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		r.mu.Lock()
		var step func(w http.ResponseWriter)
		if len(r.script) > 0 {
			step, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		if step != nil {
			step(w)
			return
		}
		var rep report.Report
		if err := json.NewDecoder(req.Body).Decode(&rep); err != nil {
			r.errs <- err
			w.WriteHeader(400)
			return
		}
		if req.Header.Get("Authorization") != "Bearer hook-secret" {
			r.errs <- io.ErrUnexpectedEOF
		}
		r.mu.Lock()
		r.accepted[rep.ID]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted[id]
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func closeConn(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func dispatcher(t *testing.T, hookURL string, log io.Writer) (*notify.Dispatcher, *notify.File) {
	t.Helper()
	sp, err := notify.OpenSpool(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := notify.NewFile(filepath.Join(sp.Dir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	hook, err := notify.NewWebhook(notify.WebhookOptions{URL: hookURL, Headers: map[string]string{"Authorization": "Bearer hook-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	return &notify.Dispatcher{
		Spool: sp, Sinks: []notify.Sink{file, hook}, Deadline: 3 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
		Clock:  newFakeClock(),
	}, file
}

func TestDeliverThroughFailures(t *testing.T) {
	tests := []struct {
		name     string
		script   []func(w http.ResponseWriter)
		complete bool
		minWait  time.Duration // what the receiver asked to wait
	}{
		{"accepted at once", nil, true, 0},
		{"500 then accepted", []func(http.ResponseWriter){status(500), status(502)}, true, 0},
		{"429 with Retry-After then accepted", []func(http.ResponseWriter){status(429, "Retry-After", "1")}, true, time.Second},
		{"connection closed then accepted", []func(http.ResponseWriter){closeConn}, true, 0},
		{"permanent 403", []func(http.ResponseWriter){status(403), status(403), status(403)}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, tt.script...)
			var log bytes.Buffer
			d, file := dispatcher(t, rcv.URL+"/hook/secret-path", &log)
			r := testReport("r-1")
			out, err := d.Deliver(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if out.Complete() != tt.complete {
				t.Fatalf("Complete = %v, want %v; failed %v", out.Complete(), tt.complete, out.Failed)
			}
			if waited := d.Clock.(*fakeClock).Slept(); waited < tt.minWait {
				t.Errorf("waited %v before the retry, want the receiver's %v", waited, tt.minWait)
			}
			if _, err := os.Stat(file.Path(r)); err != nil {
				t.Errorf("file sink: %v", err)
			}
			entries, _ := d.Spool.List()
			if tt.complete {
				if rcv.count("r-1") != 1 || len(entries) != 0 {
					t.Errorf("receiver got %d, spool holds %d; want 1 and 0", rcv.count("r-1"), len(entries))
				}
			} else {
				if len(entries) != 1 || entries[0].Acked["file"].IsZero() {
					t.Fatalf("spool = %+v, want the entry with the file sink's ack", entries)
				}
				if !strings.Contains(log.String(), "HTTP 403") {
					t.Errorf("the permanent failure was not logged clearly:\n%s", log.String())
				}
			}
			for _, secret := range []string{"secret-path", "hook-secret"} {
				if strings.Contains(log.String(), secret) {
					t.Errorf("log leaks %q:\n%s", secret, log.String())
				}
				for _, e := range out.Failed {
					if strings.Contains(e.Error(), secret) {
						t.Errorf("error leaks %q: %v", secret, e)
					}
				}
			}
		})
	}
}

func TestDeadlineBoundsAHangingReceiver(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hanging atomic.Bool
	hanging.Store(true)
	rcv := newReceiver(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hanging.Load() {
			rcv.Config.Handler.ServeHTTP(w, r)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	d, _ := dispatcher(t, srv.URL, io.Discard)
	d.Deadline = 300 * time.Millisecond
	start := time.Now()
	out, err := d.Deliver(context.Background(), testReport("r-2"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Complete() {
		t.Fatal("delivered to a receiver that never answers")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Deliver took %v with a 300ms deadline", time.Since(start))
	}
	entries, _ := d.Spool.List()
	if len(entries) != 1 {
		t.Errorf("spool holds %d entries, want the undelivered one", len(entries))
	}
	// The receiver recovers: a flush delivers the report, once.
	hanging.Store(false)
	d.Deadline = 5 * time.Second
	if _, err := d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rcv.count("r-2"); n != 1 {
		t.Errorf("after the flush the receiver holds the report %d times, want 1", n)
	}
}

func TestFlushDeliversExactlyOnce(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	rcv := newReceiver(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(503)
			return
		}
		rcv.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()
	d, _ := dispatcher(t, front.URL, io.Discard)
	d.Deadline = 200 * time.Millisecond
	for _, id := range []string{"a", "b", "c"} {
		if out, err := d.Deliver(context.Background(), testReport(id)); err != nil || out.Complete() {
			t.Fatalf("Deliver %s: %v %v", id, out, err)
		}
	}
	down.Store(false)
	d.Deadline = 3 * time.Second
	for range 2 { // a second flush finds nothing left to send
		if _, err := d.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if n := rcv.count(id); n != 1 {
			t.Errorf("report %s received %d times, want 1", id, n)
		}
	}
	if entries, _ := d.Spool.List(); len(entries) != 0 {
		t.Errorf("spool still holds %d entries", len(entries))
	}
}

func TestSpoolSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	sp, _ := notify.OpenSpool(dir)
	e, err := sp.Put(testReport("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Ack(e, "file", ""); err != nil {
		t.Fatal(err)
	}
	sp2, _ := notify.OpenSpool(dir)
	entries, errs := sp2.List()
	if len(errs) != 0 || len(entries) != 1 || entries[0].Report.ID != "x" || entries[0].Acked["file"].IsZero() {
		t.Fatalf("reopened spool: %+v %v", entries, errs)
	}
	os.WriteFile(filepath.Join(dir, "pending", "garbage.json"), []byte("{not json"), 0o600)
	if _, errs := sp2.List(); len(errs) != 1 {
		t.Errorf("a corrupt entry must be reported, got %v", errs)
	}
}

func TestWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "/relative", "http://"} {
		if _, err := notify.NewWebhook(notify.WebhookOptions{URL: u}); err == nil {
			t.Errorf("NewWebhook(%q) accepted", u)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	var b bytes.Buffer
	notify.WriteSummary(&b, testReport("s"), "/var/lib/prodwrap/reports/x.json")
	want := "prodwrap: api crashed (panic): boom at main.handle (/src/api/server.go:42)\nprodwrap: report /var/lib/prodwrap/reports/x.json\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

// TestSentryRateLimitIsObeyed: a 429 with X-Sentry-Rate-Limits (and no
// Retry-After) makes the dispatcher wait that long before the retry.
func TestSentryRateLimitIsObeyed(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("X-Sentry-Rate-Limits", "2:error:org")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	s, err := notify.NewSentry(notify.SentryOptions{DSN: strings.Replace(srv.URL, "http://", "http://key@", 1) + "/3"})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := notify.OpenSpool(t.TempDir())
	clock := newFakeClock()
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{s}, Deadline: 10 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Clock: clock}
	out, err := d.Deliver(context.Background(), testReport("rl"))
	if err != nil || !out.Complete() {
		t.Fatalf("%v %+v", err, out)
	}
	if waited := clock.Slept(); waited < 2*time.Second || calls.Load() != 2 {
		t.Errorf("delivered after %v in %d calls; want the 2s limit obeyed, 2 calls", waited, calls.Load())
	}
}

type panickingSink struct{}

func (panickingSink) Name() string                                 { return "buggy" }
func (panickingSink) Notify(context.Context, *report.Report) error { panic("sink bug") }

// TestPanickingSinkDoesNotStopTheOthers: a sink's panic is prodwrap's bug;
// it is returned as ErrInternal and the other sinks still get the report.
func TestPanickingSinkDoesNotStopTheOthers(t *testing.T) {
	d, file := dispatcher(t, "http://127.0.0.1:1/unused", io.Discard)
	d.Sinks = []notify.Sink{panickingSink{}, file}
	r := testReport("p")
	out, err := d.Deliver(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(out.Failed["buggy"], notify.ErrInternal) || len(out.Acked) != 1 || out.Acked[0] != "file" {
		t.Errorf("outcome %+v", out)
	}
}
