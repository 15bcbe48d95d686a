package watch_test

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

func crashReport(msg string) *report.Report {
	return &report.Report{
		ID: "0b7e6c2a-8d1f-4e3b-9a5c-1f2e3d4c5b6a", Service: "api",
		Crash: &parse.Crash{Kind: parse.KindPanic, Message: msg,
			Culprit: &parse.FrameRef{Function: "main.(*Server).handle", File: "/src/api/server.go", Line: 42}},
	}
}

// A summary names the service and kind, the message, the culprit, the
// report and the Sentry event, one a line.
func TestSummaryText(t *testing.T) {
	s := watch.Summary{Report: crashReport("boom\nsecond line"), EventID: "0b7e6c2a8d1f4e3b9a5c1f2e3d4c5b6a"}
	want := "api crashed (panic): boom\nsecond line\n" +
		"at main.(*Server).handle (/src/api/server.go:42)\n" +
		"report 0b7e6c2a-8d1f-4e3b-9a5c-1f2e3d4c5b6a\n" +
		"sentry event 0b7e6c2a8d1f4e3b9a5c1f2e3d4c5b6a\n"
	if got := s.Text(4096); got != want {
		t.Errorf("Text:\n%s\nwant:\n%s", got, want)
	}
	if got, want := s.Line(512), "api crashed (panic): boom … at main.(*Server).handle (/src/api/server.go:42)"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}

// A message too long for the limit is what is cut, at a rune boundary and
// marked "…"; the lines that identify the crash stay whole, and what the
// program panicked with that is not UTF-8 becomes U+FFFD.
func TestSummaryCutsTheMessageToFit(t *testing.T) {
	for _, msg := range []string{strings.Repeat("ü", 5<<20), strings.Repeat("x", 10<<20), "\xff\xfe" + strings.Repeat("日本", 1<<20)} {
		got := watch.Summary{Report: crashReport(msg)}.Text(watch.TerminationLogLimit)
		if len(got) > watch.TerminationLogLimit || len(got) < watch.TerminationLogLimit-3 {
			t.Errorf("%d bytes, want %d or a rune fewer", len(got), watch.TerminationLogLimit)
		}
		if !utf8.ValidString(got) {
			t.Errorf("not valid UTF-8: ...%q", got[len(got)-100:])
		}
		if !strings.HasSuffix(got, "…\nat main.(*Server).handle (/src/api/server.go:42)\nreport 0b7e6c2a-8d1f-4e3b-9a5c-1f2e3d4c5b6a\n") {
			t.Errorf("the identifying lines are cut: ...%q", got[len(got)-150:])
		}
	}
}

// The termination log is the one configured, "none" is off, and by
// default it is Kubernetes' only inside a pod.
func TestTerminationLogPath(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			if i := slices.Index(kv, k); i >= 0 {
				return kv[i+1]
			}
			return ""
		}
	}
	cfg := config.Default()
	if got := watch.TerminationLog(cfg, env()); got != "" {
		t.Errorf("outside Kubernetes: %q, want none", got)
	}
	cfg.Kubernetes.TerminationLog = "/x/msg"
	if got := watch.TerminationLog(cfg, env()); got != "/x/msg" {
		t.Errorf("configured: %q", got)
	}
	cfg.Kubernetes.TerminationLog = "none"
	if got := watch.TerminationLog(cfg, env("KUBERNETES_SERVICE_HOST", "10.0.0.1")); got != "" {
		t.Errorf("none: %q", got)
	}
}

// JOURNAL_STREAM names stderr by device and inode; another file, or a
// value that does not parse, is not the journal.
func TestJournalStream(t *testing.T) {
	dir := t.TempDir()
	f, _ := os.Create(filepath.Join(dir, "a"))
	g, _ := os.Create(filepath.Join(dir, "b"))
	defer f.Close()
	defer g.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	if !watch.JournalStream(stream, f) {
		t.Errorf("%s does not match its own file", stream)
	}
	for _, bad := range []string{"", "1", "x:y", stream + "0"} {
		if watch.JournalStream(bad, f) {
			t.Errorf("JOURNAL_STREAM=%q matches", bad)
		}
	}
	if watch.JournalStream(stream, g) {
		t.Errorf("%s matches another file", stream)
	}
}

// The relay hands the child a socket of its own and relays what arrives
// there, in order, without MAINPID=; Close ends its goroutine (goleak, in
// TestMain) and removes the socket.
func TestNotifyRelay(t *testing.T) {
	target := filepath.Join(t.TempDir(), "systemd.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: target, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := watch.StartNotifyRelay(target, t.TempDir(), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := r.ChildEnv([]string{"NOTIFY_SOCKET=" + target, "WATCHDOG_PID=1", "WATCHDOG_USEC=5", "HOME=/h"})
	if want := []string{"WATCHDOG_USEC=5", "HOME=/h", "NOTIFY_SOCKET=" + r.Socket()}; !slices.Equal(env, want) {
		t.Errorf("child env %q, want %q", env, want)
	}
	child, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: r.Socket(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	child.Write([]byte("READY=1\nMAINPID=77\nSTATUS=up"))
	child.Close()
	r.Send("STOPPING=1")
	var got []string
	buf := make([]byte, 4096)
	for range 2 {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(buf[:n]))
	}
	if want := []string{"READY=1\nSTATUS=up", "STOPPING=1"}; !slices.Equal(got, want) {
		t.Errorf("relayed %q, want %q", got, want)
	}
	sock := r.Socket()
	r.Close()
	r.Close()
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Errorf("the child's socket stays: %v", err)
	}
}
