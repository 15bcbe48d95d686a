package e2e_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestCrashesReachSentry runs real crashing programs under prodwrap with
// SENTRY_DSN set to the local Sentry receiver and a Slack webhook on
// slack-go's slacktest server, and reads what they got: one event and one
// message per crash, with the right exception, hostname and time.
func TestCrashesReachSentry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	slackSrv := testreceiver.StartSlack(t, nil)
	host, _ := os.Hostname()
	tests := []struct {
		mode, excType, value string
	}{
		{"nil-deref", "runtime.Error", "runtime error: invalid memory address or nil pointer dereference"},
		{"errgroup-panic", "panic", "worker failed"},
		{"concurrent-map-writes", "fatal_error", "concurrent map writes"},
		{"deadlock", "deadlock", "all goroutines are asleep - deadlock!"},
		{"cgo-segv", "SIGSEGV", "segmentation violation"},
		{"sigkill-self", "killed", "killed by SIGKILL"},
	}
	for i, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			m, _ := zoo.Lookup(tt.mode)
			bin := zoo.Build(t, m.Flavor())
			before := time.Now().Add(-time.Second)
			r := prodwrap(t, nil, []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_SLACK_WEBHOOK_URL=" + slackSrv.WebhookURL(), "PRODWRAP_FILE=true"}, append([]string{"--", bin, m.Program()}, m.Args...)...)
			if r.code != m.ExitCode {
				t.Errorf("exit %d, want %d", r.code, m.ExitCode)
			}
			envs := rcv.Envelopes(i+1, 15*time.Second)
			if len(envs) != i+1 {
				t.Fatalf("receiver holds %d envelopes, want %d\n%s", len(envs), i+1, r.stderr)
			}
			items, err := testreceiver.ParseEnvelope(envs[i])
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				ServerName string                         `json:"server_name"`
				Timestamp  time.Time                      `json:"timestamp"`
				Level      string                         `json:"level"`
				Exception  []struct{ Type, Value string } `json:"exception"`
				Tags       map[string]string              `json:"tags"`
			}
			for _, it := range items {
				if it.Header["type"] == "event" {
					if err := json.Unmarshal(it.Payload, &ev); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(ev.Exception) != 1 || ev.Exception[0].Type != tt.excType || !strings.HasPrefix(ev.Exception[0].Value, tt.value) {
				t.Errorf("exception %+v, want %s %q", ev.Exception, tt.excType, tt.value)
			}
			if ev.ServerName != host || ev.Timestamp.Before(before) || ev.Timestamp.After(time.Now()) || ev.Level != "fatal" {
				t.Errorf("server_name %q timestamp %v level %q", ev.ServerName, ev.Timestamp, ev.Level)
			}
			if ev.Tags["kind"] != m.Kind {
				t.Errorf("kind tag %q, want %q", ev.Tags["kind"], m.Kind)
			}
			if strings.Contains(string(r.stderr), "publickey") || strings.Contains(string(r.stderr), "/services/T000") {
				t.Errorf("the DSN or the Slack webhook leaks on stderr")
			}
			msgs := slackSrv.WebhookMessages()
			if len(msgs) != i+1 {
				t.Fatalf("Slack holds %d messages, want %d", len(msgs), i+1)
			}
			if msg := msgs[i]; !strings.Contains(msg.Text, "crasher crashed on "+host+": "+m.Kind) || msg.Blocks == nil || len(msg.Blocks.BlockSet) < 4 {
				t.Errorf("Slack message %q with %v", msg.Text, msg.Blocks)
			}
		})
	}
}

// TestSIGQUITDumpReachesSentryAndSlack: ^\ on a hung service gives a
// sigquit report with its goroutines, in Sentry and in Slack.
func TestSIGQUITDumpReachesSentryAndSlack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	slackSrv := testreceiver.StartSlack(t, nil)
	crasher := zoo.Build(t, zoo.Plain)
	cmd := command(t, prodwrapBin(t), "--", crasher, "hang")
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir(), "SENTRY_DSN="+rcv.DSN(), "PRODWRAP_SLACK_WEBHOOK_URL="+slackSrv.WebhookURL())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("crasher not ready: %q %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGQUIT)
	if code := exitCode(t, cmd.Wait()); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	envs := rcv.Envelopes(1, 15*time.Second)
	if len(envs) != 1 {
		t.Fatalf("%d events", len(envs))
	}
	items, _ := testreceiver.ParseEnvelope(envs[0])
	var ev struct {
		Tags    map[string]string `json:"tags"`
		Threads []struct {
			Name string `json:"name"`
		} `json:"threads"`
	}
	for _, it := range items {
		if it.Header["type"] == "event" {
			json.Unmarshal(it.Payload, &ev)
		}
	}
	if ev.Tags["kind"] != "sigquit" || len(ev.Threads) < 2 {
		t.Errorf("event kind %q with %d threads", ev.Tags["kind"], len(ev.Threads))
	}
	msgs := slackSrv.WebhookMessages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, ": sigquit: quit") {
		t.Errorf("Slack messages %+v", msgs)
	}
}

// TestNextRunDeliversWhatWasLeft: a report that could not be delivered is
// delivered by the next start of prodwrap, in the background, once.
func TestNextRunDeliversWhatWasLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	spool := t.TempDir()
	down := "http://key@127.0.0.1:1/5" // nothing listens on port 1
	crasher := zoo.Build(t, zoo.Plain)
	first := command(t, prodwrapBin(t), "--", crasher, "nil-deref")
	first.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool, "SENTRY_DSN="+down, "PRODWRAP_DEADLINE=300ms")
	if code := exitCode(t, first.Run()); code != 2 {
		t.Fatalf("first run exit %d", code)
	}
	if pending, _ := filepath.Glob(filepath.Join(spool, "pending", "*.json")); len(pending) != 1 {
		t.Fatalf("%d pending after the first run", len(pending))
	}
	for range 2 { // two clean runs: the second finds nothing left to send
		next := command(t, prodwrapBin(t), "--", "/bin/true")
		next.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool, "SENTRY_DSN="+rcv.DSN())
		if code := exitCode(t, next.Run()); code != 0 {
			t.Fatalf("next run exit %d", code)
		}
	}
	if n := len(rcv.Envelopes(2, 3*time.Second)); n != 1 {
		t.Errorf("receiver got %d events, want exactly 1", n)
	}
	if pending, _ := filepath.Glob(filepath.Join(spool, "pending", "*.json")); len(pending) != 0 {
		t.Errorf("%d still pending", len(pending))
	}
}
