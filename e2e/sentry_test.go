package e2e_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestCrashesReachSentry runs real crashing programs under prodwrap with
// SENTRY_DSN set to the local Sentry receiver and reads the events it
// stored: one per crash, with the right exception, hostname and time.
func TestCrashesReachSentry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	host, _ := os.Hostname()
	tests := []struct {
		mode, excType, value string
	}{
		{"nil-deref", "panic", "runtime error: invalid memory address or nil pointer dereference"},
		{"errgroup-panic", "panic", "worker failed"},
		{"concurrent-map-writes", "fatal error", "concurrent map writes"},
		{"deadlock", "fatal error", "all goroutines are asleep - deadlock!"},
		{"cgo-segv", "SIGSEGV", "segmentation violation"},
		{"sigkill-self", "killed", "killed by SIGKILL"},
	}
	for i, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			m, _ := zoo.Lookup(tt.mode)
			bin := zoo.Build(t, m.Flavor())
			before := time.Now().Add(-time.Second)
			r := prodwrap(t, nil, []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_FILE=true"}, append([]string{"--", bin, m.Program()}, m.Args...)...)
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
			if strings.Contains(string(r.stderr), "publickey") {
				t.Errorf("the DSN leaks on stderr")
			}
		})
	}
}
