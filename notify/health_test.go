package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// healthReceiver is a loopback Sentry that records the items of each
// envelope and answers as status says.
type healthReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests [][]map[string]any // per request, the items' payloads with their "type"
	status   int
	header   http.Header
}

func startHealthReceiver(t *testing.T) *healthReceiver {
	t.Helper()
	r := &healthReceiver{status: http.StatusOK, header: http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		var items []map[string]any
		for i := 1; i+1 < len(lines); i += 2 {
			var h, p map[string]any
			if json.Unmarshal(lines[i], &h) != nil || json.Unmarshal(lines[i+1], &p) != nil {
				t.Errorf("bad envelope item %q %q", lines[i], lines[i+1])
				continue
			}
			p["type"] = h["type"]
			items = append(items, p)
		}
		r.mu.Lock()
		r.requests = append(r.requests, items)
		status := r.status
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *healthReceiver) dsn() string {
	return strings.Replace(r.srv.URL, "http://", "http://key@", 1) + "/1"
}

func (r *healthReceiver) got() [][]map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]map[string]any(nil), r.requests...)
}

func (r *healthReceiver) answer(status int, header http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.header = status, header
}

func newTestHealth(t *testing.T, r *healthReceiver) (*Health, *Spool) {
	t.Helper()
	sp, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHealth(HealthOptions{DSN: r.dsn(), Spool: sp, Client: r.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return h, sp
}

var attrs = SessionAttrs{Release: "api@1", Environment: "prod"}

func putRun(t *testing.T, h *Health, id string, at time.Time, status SessionStatus) {
	t.Helper()
	if err := h.PutSession(&SessionUpdate{ID: id, Init: true, Started: at, Timestamp: at, Status: SessionOK, Attrs: attrs}); err != nil {
		t.Fatal(err)
	}
	if status == "" {
		return
	}
	if err := h.PutSession(&SessionUpdate{ID: id, Started: at, Timestamp: at.Add(time.Second), Status: status, Duration: 1, Attrs: attrs}); err != nil {
		t.Fatal(err)
	}
}

// TestHealthFlushOneEnvelope: what waits goes in one envelope of
// sessions (the runs Sentry never saw aggregated) and one per check-in,
// in order, and the spool is empty after.
func TestHealthFlushOneEnvelope(t *testing.T) {
	r := startHealthReceiver(t)
	h, _ := newTestHealth(t, r)
	t0 := time.Now().UTC()
	for i := range 20 {
		putRun(t, h, "run"+string(rune('a'+i)), t0, SessionCrashed)
	}
	putRun(t, h, "live", t0, "")
	h.PutCheckIn(&CheckIn{ID: "c1", Monitor: "nightly", Status: sentry.CheckInStatusInProgress})
	h.PutCheckIn(&CheckIn{ID: "c1", Monitor: "nightly", Status: sentry.CheckInStatusOK, Duration: time.Second})
	res := h.Flush(context.Background())
	if res.Sent != 43 || res.Remaining != 0 || len(res.Errors) != 0 {
		t.Fatalf("flush %+v", res)
	}
	reqs := r.got()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: %v", len(reqs), reqs)
	}
	if reqs[0][0]["status"] != "in_progress" || reqs[1][0]["status"] != "ok" || reqs[1][0]["duration"] != 1.0 {
		t.Errorf("check-ins %v %v", reqs[0], reqs[1])
	}
	var crashed float64
	var live bool
	for _, it := range reqs[2] {
		switch it["type"] {
		case "sessions":
			for _, b := range it["aggregates"].([]any) {
				crashed += b.(map[string]any)["crashed"].(float64)
			}
		case "session":
			live = it["sid"] == "live" && it["init"] == true && it["status"] == "ok"
		}
	}
	if crashed != 20 || !live {
		t.Errorf("sessions envelope %v", reqs[2])
	}
	if n := h.Pending(); n != 0 {
		t.Errorf("%d pending", n)
	}
}

// TestHealthKeepsWhatFails: a receiver that fails keeps the updates in
// the spool; a later flush (here Drain, retrying) delivers them once.
func TestHealthKeepsWhatFails(t *testing.T) {
	r := startHealthReceiver(t)
	h, _ := newTestHealth(t, r)
	r.answer(http.StatusServiceUnavailable, nil)
	putRun(t, h, "a", time.Now(), SessionExited)
	res := h.Flush(context.Background())
	var he *HTTPError
	if res.Sent != 0 || res.Remaining != 2 || len(res.Errors) != 1 || !errors.As(res.Errors[0], &he) || he.Status != 503 {
		t.Fatalf("flush against a 503: %+v", res)
	}
	if strings.Contains(res.Errors[0].Error(), r.srv.URL) {
		t.Errorf("the error names the DSN's URL: %v", res.Errors[0])
	}
	r.answer(http.StatusOK, nil)
	if res := h.Drain(context.Background()); res.Sent != 2 || res.Remaining != 0 {
		t.Fatalf("drain %+v", res)
	}
	if reqs := r.got(); len(reqs) != 2 || len(reqs[1]) != 1 || reqs[1][0]["init"] != true || reqs[1][0]["status"] != "exited" {
		t.Errorf("requests %v", reqs)
	}
}

// TestHealthRateLimits: a session limit holds the sessions back (across
// Health values sharing the spool) and not the check-ins.
func TestHealthRateLimits(t *testing.T) {
	r := startHealthReceiver(t)
	h, sp := newTestHealth(t, r)
	r.answer(http.StatusTooManyRequests, http.Header{"X-Sentry-Rate-Limits": {"600:session:project"}})
	putRun(t, h, "a", time.Now(), SessionExited)
	h.Flush(context.Background())
	r.answer(http.StatusOK, nil)
	h2, err := NewHealth(HealthOptions{DSN: r.dsn(), Spool: sp, Client: r.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h2.PutCheckIn(&CheckIn{ID: "c1", Monitor: "nightly", Status: sentry.CheckInStatusInProgress})
	res := h2.Drain(context.Background())
	if res.Sent != 1 || res.Remaining != 2 || len(res.Errors) != 1 || !errors.Is(res.Errors[0], ErrRateLimited) {
		t.Fatalf("drain under a session limit: %+v", res)
	}
	if reqs := r.got(); len(reqs) != 2 || reqs[1][0]["type"] != "check_in" {
		t.Errorf("requests %v", reqs)
	}
}

// TestHealthOrderUnderClaims: while another delivery holds the start of a
// session, its end waits; what is not an update is quarantined.
func TestHealthOrderUnderClaims(t *testing.T) {
	r := startHealthReceiver(t)
	h, sp := newTestHealth(t, r)
	putRun(t, h, "a", time.Now(), SessionCrashed)
	putRun(t, h, "b", time.Now(), SessionExited)
	names, _ := filepath.Glob(filepath.Join(h.Dir(), "*-a.json"))
	if len(names) != 2 {
		t.Fatalf("entries of a: %v", names)
	}
	lock, err := os.OpenFile(lockPath(names[0]), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(h.Dir(), "00000000000000000001-1-1-bad.json"), []byte("not json"), 0o600)
	res := h.Flush(context.Background())
	if res.Sent != 2 || res.Busy != 1 || res.Remaining != 2 {
		t.Errorf("flush with a's start claimed: %+v", res)
	}
	for _, req := range r.got() {
		for _, it := range req {
			if it["sid"] == "a" {
				t.Errorf("a sent while its start was claimed: %v", it)
			}
		}
	}
	if q, _ := os.ReadDir(filepath.Join(sp.Dir(), "quarantine")); len(q) != 1 {
		t.Errorf("quarantine holds %d files, want 1", len(q))
	}
	lock.Close()
	if res := h.Flush(context.Background()); res.Sent != 2 || res.Remaining != 0 {
		t.Errorf("flush once free: %+v", res)
	}
}

// TestHealthFull: past MaxEntries new updates are refused.
func TestHealthFull(t *testing.T) {
	r := startHealthReceiver(t)
	sp, _ := OpenSpool(t.TempDir())
	h, err := NewHealth(HealthOptions{DSN: r.dsn(), Spool: sp, Client: r.srv.Client(), MaxEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	putRun(t, h, "a", time.Now(), SessionCrashed)
	h.PutSession(&SessionUpdate{ID: "b", Init: true, Status: SessionOK, Attrs: attrs})
	if err := h.PutSession(&SessionUpdate{ID: "c", Init: true, Status: SessionOK, Attrs: attrs}); !errors.Is(err, ErrHealthFull) {
		t.Errorf("put past the bound: %v", err)
	}
}

// TestHealthWithoutSpool: the updates are kept in memory, and what fails
// is tried again by the next flush.
func TestHealthWithoutSpool(t *testing.T) {
	r := startHealthReceiver(t)
	h, err := NewHealth(HealthOptions{DSN: r.dsn(), Client: r.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	r.answer(http.StatusInternalServerError, nil)
	putRun(t, h, "a", time.Now(), SessionAbnormal)
	if res := h.Flush(context.Background()); res.Sent != 0 || h.Pending() != 2 {
		t.Fatalf("flush against a 500: %+v, %d pending", res, h.Pending())
	}
	r.answer(http.StatusOK, nil)
	if res := h.Flush(context.Background()); res.Sent != 2 || h.Pending() != 0 {
		t.Fatalf("flush: %+v, %d pending", res, h.Pending())
	}
}

// TestHealthDropsWhatSentryRefuses: a 400 drops the updates (they would
// hold back every later one); a 403 keeps them for a fixed configuration.
func TestHealthDropsWhatSentryRefuses(t *testing.T) {
	r := startHealthReceiver(t)
	h, _ := newTestHealth(t, r)
	r.answer(http.StatusForbidden, nil)
	putRun(t, h, "a", time.Now(), SessionExited)
	h.PutCheckIn(&CheckIn{ID: "c1", Monitor: "nightly", Status: sentry.CheckInStatusInProgress})
	if res := h.Drain(context.Background()); res.Sent != 0 || res.Remaining != 3 || h.Pending() != 3 {
		t.Fatalf("drain against a 403: %+v, %d pending", res, h.Pending())
	}
	r.answer(http.StatusBadRequest, nil)
	if res := h.Flush(context.Background()); res.Sent != 0 || res.Remaining != 0 || len(res.Errors) != 2 || h.Pending() != 0 {
		t.Fatalf("flush against a 400: %+v, %d pending", res, h.Pending())
	}
}
