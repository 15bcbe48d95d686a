package e2e_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/report"
)

// TestSIGKILLDuringDeliveryLosesNothing: prodwrap is SIGKILLed after the
// report was spooled, while the webhook hangs; `prodwrap flush` later
// delivers it, exactly once.
func TestSIGKILLDuringDeliveryLosesNothing(t *testing.T) {
	var hanging atomic.Bool
	hanging.Store(true)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var rep report.Report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[rep.ID]++
		mu.Unlock()
	}))
	defer srv.Close()
	defer close(release)

	spool := t.TempDir()
	env := append(os.Environ(), "PRODWRAP_SPOOL="+spool, "PRODWRAP_WEBHOOK_URL="+srv.URL+"/hook", "PRODWRAP_FILE=false", "PRODWRAP_DEADLINE=60s")
	crasher := zoo.Build(t, zoo.Plain)
	cmd := command(t, prodwrapBin(t), "--", crasher, "nil-deref")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook was never called")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	pending, _ := filepath.Glob(filepath.Join(spool, "pending", "*.json"))
	if len(pending) != 1 {
		t.Fatalf("spool holds %d entries after the SIGKILL, want 1", len(pending))
	}

	hanging.Store(false)
	for range 2 { // the second flush must find nothing to send
		flush := command(t, prodwrapBin(t), "flush")
		flush.Env = env
		out, err := flush.CombinedOutput()
		if err != nil {
			t.Fatalf("flush: %v\n%s", err, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("receiver got %d reports, want 1: %v", len(got), got)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("report %s delivered %d times", id, n)
		}
	}
	if pending, _ := filepath.Glob(filepath.Join(spool, "pending", "*.json")); len(pending) != 0 {
		t.Errorf("spool still holds %d entries", len(pending))
	}
}

// TestNoSecretInReports: with every sink failing (so that every error is
// logged, at debug level), neither stderr nor the spool holds a secret.
func TestNoSecretInReports(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	secrets := []string{"https://topsecretkey@127.0.0.1:1/7", "http://127.0.0.1:1/hook-secret-path", "hunter2", "xoxb-slack-secret-token"}
	r := prodwrap(t, nil, []string{"SENTRY_DSN=" + secrets[0], "PRODWRAP_WEBHOOK_URL=" + secrets[1], "PRODWRAP_FILE=true", "PRODWRAP_DEADLINE=200ms",
		"PRODWRAP_SLACK_TOKEN=" + secrets[3], "PRODWRAP_SLACK_CHANNEL=C1", "PRODWRAP_SLACK_API_URL=http://127.0.0.1:1/api/", "PRODWRAP_LOG_LEVEL=debug"},
		"--", crasher, "exit", "4", "--password="+secrets[2])
	if r.code != 4 {
		t.Fatalf("exit %d", r.code)
	}
	var all strings.Builder
	all.Write(r.stderr)
	filepath.Walk(r.spool, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	sc := bufio.NewScanner(strings.NewReader(all.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, s := range []string{"topsecretkey", "hook-secret-path", "hunter2", "slack-secret-token"} {
			if strings.Contains(sc.Text(), s) {
				t.Errorf("%q appears in prodwrap's output or spool: %s", s, sc.Text())
			}
		}
	}
}
