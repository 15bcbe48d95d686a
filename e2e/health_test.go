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

// sessionItem is what the tests read of a `session` envelope item.
type sessionItem struct {
	SID       string    `json:"sid"`
	DID       string    `json:"did"`
	Init      bool      `json:"init"`
	Started   time.Time `json:"started"`
	Timestamp time.Time `json:"timestamp"`
	Status    string    `json:"status"`
	Errors    int       `json:"errors"`
	Duration  float64   `json:"duration"`
	Attrs     struct {
		Release     string `json:"release"`
		Environment string `json:"environment"`
	} `json:"attrs"`
}

// aggregatesItem is what the tests read of a `sessions` envelope item.
type aggregatesItem struct {
	Aggregates []struct {
		Started  time.Time `json:"started"`
		DID      string    `json:"did"`
		Exited   int       `json:"exited"`
		Errored  int       `json:"errored"`
		Abnormal int       `json:"abnormal"`
		Crashed  int       `json:"crashed"`
	} `json:"aggregates"`
	Attrs struct {
		Release     string `json:"release"`
		Environment string `json:"environment"`
	} `json:"attrs"`
}

// checkInItem is what the tests read of a `check_in` envelope item.
type checkInItem struct {
	CheckInID     string   `json:"check_in_id"`
	MonitorSlug   string   `json:"monitor_slug"`
	Status        string   `json:"status"`
	Duration      *float64 `json:"duration"`
	Release       string   `json:"release"`
	Environment   string   `json:"environment"`
	MonitorConfig *struct {
		Schedule struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
			Unit  string `json:"unit"`
		} `json:"schedule"`
		CheckInMargin int64  `json:"checkin_margin"`
		MaxRuntime    int64  `json:"max_runtime"`
		Timezone      string `json:"timezone"`
	} `json:"monitor_config"`
}

func decodeItems[T any](t *testing.T, items []testreceiver.Item) []T {
	t.Helper()
	out := make([]T, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it.Payload, &out[i]); err != nil {
			t.Fatalf("item %s: %v\n%s", it.Header["type"], err, it.Payload)
		}
	}
	return out
}

// finals returns the final updates of sessions among items, by sid.
func finals(items []sessionItem) map[string]sessionItem {
	out := map[string]sessionItem{}
	for _, s := range items {
		if s.Status != "ok" {
			out[s.SID] = s
		}
	}
	return out
}

// healthEnv is the environment of the runs whose sessions the tests read:
// the receiver, a release and an environment.
func healthEnv(dsn string) []string {
	return []string{"SENTRY_DSN=" + dsn, "PRODWRAP_RELEASE=e2e@1.0.0", "PRODWRAP_ENVIRONMENT=test", "PRODWRAP_FILE=false"}
}

// TestSessionOfEachRun: each run of the child is one release-health
// session in the real Sentry receiver — init at start, then its end:
// crashed for a Go crash, exited for a clean exit, abnormal for a SIGKILL,
// with its duration, release, environment and the host's distinct id.
func TestSessionOfEachRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	crasher := zoo.Build(t, zoo.Plain)
	tests := []struct {
		name   string
		args   []string
		code   int
		status string
		errors int
	}{
		{"crash", []string{crasher, "nil-deref"}, 2, "crashed", 0},
		{"clean", []string{"/bin/sh", "-c", "exit 0"}, 0, "exited", 0},
		{"sigkill", []string{"/bin/sh", "-c", "kill -9 $$"}, 128 + 9, "abnormal", 0},
		{"exit-3", []string{"/bin/sh", "-c", "exit 3"}, 3, "exited", 1},
	}
	seen := map[string]bool{}
	did := ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			r := prodwrap(t, nil, healthEnv(rcv.DSN()), append([]string{"--"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			// Every run has ended, and so has its session, before prodwrap
			// exits.
			var all []sessionItem
			var end *sessionItem
			for deadline := time.Now().Add(5 * time.Second); end == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				all = decodeItems[sessionItem](t, rcv.HealthItems("session", 0, 0))
				for sid, s := range finals(all) {
					if !seen[sid] {
						seen[sid] = true
						end = &s
					}
				}
			}
			if end == nil {
				t.Fatalf("no new final session update among %+v\n%s", all, r.stderr)
			}
			if end.Status != tt.status || end.Errors != tt.errors {
				t.Errorf("session ended %s with %d errors, want %s with %d", end.Status, end.Errors, tt.status, tt.errors)
			}
			if end.Attrs.Release != "e2e@1.0.0" || end.Attrs.Environment != "test" || end.DID == "" {
				t.Errorf("session attrs %+v did %q", end.Attrs, end.DID)
			}
			if did != "" && end.DID != did {
				t.Errorf("did %q, was %q: not stable", end.DID, did)
			}
			did = end.DID
			if end.Started.Before(before) || end.Timestamp.Before(end.Started) || end.Duration < 0 || end.Duration > time.Since(before).Seconds() {
				t.Errorf("started %v timestamp %v duration %v", end.Started, end.Timestamp, end.Duration)
			}
			var init bool
			for _, s := range all {
				if s.SID == end.SID && s.Init {
					init = true
				}
			}
			if !init {
				t.Errorf("no update of session %s has init", end.SID)
			}
			if pending, _ := filepath.Glob(filepath.Join(r.spool, "health", "*", "*.json")); len(pending) != 0 {
				t.Errorf("%d updates left in the spool", len(pending))
			}
		})
	}
	if events := rcv.Envelopes(1, 0); len(events) != 3 {
		t.Errorf("%d events, want 3 (the crash, the kill, the exit 3)", len(events))
	}
}

// TestCrashLoopSessionsAreAggregated: 50 crashes of a crash loop reach
// Sentry counted in `sessions` aggregates, in a few requests, not one or
// two per restart.
func TestCrashLoopSessionsAreAggregated(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	crasher := zoo.Build(t, zoo.Plain)
	env := append(healthEnv(rcv.DSN()), "PRODWRAP_RESTART=on-failure", "PRODWRAP_RESTART_DELAY=1ms", "PRODWRAP_RESTART_MAX_DELAY=1ms",
		"PRODWRAP_MAX_RESTARTS=49", "PRODWRAP_RESTART_WINDOW=1h")
	r := prodwrap(t, nil, env, "--", crasher, "nil-deref")
	if r.code != 2 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var envs [][]byte
	crashed := 0
	for deadline := time.Now().Add(10 * time.Second); crashed < 50 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		envs = rcv.HealthEnvelopes(0, 0)
		crashed = countCrashed(t, envs)
	}
	if crashed != 50 {
		t.Errorf("Sentry counted %d crashed sessions, want 50\n%s", crashed, r.stderr)
	}
	if len(envs) > 10 {
		t.Errorf("%d requests of sessions for 50 runs: not aggregated", len(envs))
	}
	t.Logf("50 crashed sessions in %d envelopes", len(envs))
}

// countCrashed counts the crashed sessions in envelopes: in session
// items (each sid once) and in aggregates.
func countCrashed(t *testing.T, envs [][]byte) int {
	t.Helper()
	crashed := 0
	sids := map[string]bool{}
	for _, env := range envs {
		items, err := testreceiver.ParseEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			switch it.Header["type"] {
			case "session":
				var s sessionItem
				json.Unmarshal(it.Payload, &s)
				if s.Status == "crashed" && !sids[s.SID] {
					sids[s.SID] = true
					crashed++
				}
			case "sessions":
				var a aggregatesItem
				json.Unmarshal(it.Payload, &a)
				if a.Attrs.Release != "e2e@1.0.0" {
					t.Errorf("aggregates attrs %+v", a.Attrs)
				}
				for _, b := range a.Aggregates {
					crashed += b.Crashed
					if b.Exited+b.Errored+b.Abnormal != 0 || b.DID == "" || b.Started.Second() != 0 {
						t.Errorf("bucket %+v", b)
					}
				}
			}
		}
	}
	return crashed
}

// TestSessionsWaitForFlush: with the receiver down, the sessions stay in
// the spool; once it is up, `prodwrap flush` delivers them.
func TestSessionsWaitForFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	port := testreceiver.FreePort(t)
	spool := t.TempDir()
	env := append(healthEnv(testreceiver.DSNAt(port)), "PRODWRAP_SPOOL="+spool, "PRODWRAP_DEADLINE=300ms")
	for _, args := range [][]string{{"/bin/sh", "-c", "exit 0"}, {"/bin/sh", "-c", "kill -9 $$"}} {
		cmd := command(t, prodwrapBin(t), append([]string{"--"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Run()
	}
	pending, _ := filepath.Glob(filepath.Join(spool, "health", "*", "*.json"))
	if len(pending) != 4 {
		t.Fatalf("%d updates in the spool, want 4 (two runs' start and end)", len(pending))
	}
	rcv := testreceiver.StartSentryOn(t, port)
	flush := command(t, prodwrapBin(t), "flush")
	flush.Env = append(os.Environ(), env...)
	out, err := flush.CombinedOutput()
	if code := exitCode(t, err); code != 0 {
		t.Fatalf("flush exit %d\n%s", code, out)
	}
	var ended []string
	for deadline := time.Now().Add(10 * time.Second); len(ended) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ended = sessionEnds(rcv.HealthEnvelopes(0, 0))
	}
	if got := strings.Join(ended, ","); got != "exited,abnormal" && got != "abnormal,exited" {
		t.Errorf("sessions after the flush: %s, want an exited and an abnormal one\n%s", got, out)
	}
	if pending, _ := filepath.Glob(filepath.Join(spool, "health", "*", "*.json")); len(pending) != 0 {
		t.Errorf("%d updates left after the flush", len(pending))
	}
}

// sessionEnds lists the final statuses of the sessions in envelopes, one
// per session (aggregates counted).
func sessionEnds(envs [][]byte) []string {
	var ended []string
	for _, env := range envs {
		items, _ := testreceiver.ParseEnvelope(env)
		for _, it := range items {
			switch it.Header["type"] {
			case "session":
				var s sessionItem
				json.Unmarshal(it.Payload, &s)
				if s.Status != "ok" {
					ended = append(ended, s.Status)
				}
			case "sessions":
				var a aggregatesItem
				json.Unmarshal(it.Payload, &a)
				for _, b := range a.Aggregates {
					for range b.Exited {
						ended = append(ended, "exited")
					}
					for range b.Abnormal {
						ended = append(ended, "abnormal")
					}
				}
			}
		}
	}
	return ended
}

// TestMonitorCheckIns: --monitor checks a job in at its start
// (in_progress) and at its end, ok or error, with the duration, and
// upserts the monitor config when a schedule is set.
func TestMonitorCheckIns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	tests := []struct {
		name, script string
		flags        []string
		code         int
		status       string
	}{
		{"ok", "exit 0", nil, 0, "ok"},
		{"error", "exit 3", nil, 3, "error"},
		{"killed", "kill -TERM $$", nil, 128 + 15, "error"},
		{"schedule", "exit 0", []string{"--monitor-schedule", "0 3 * * *", "--monitor-checkin-margin", "5m", "--monitor-max-runtime", "90s", "--monitor-timezone", "Europe/Vienna"}, 0, "ok"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--monitor", "nightly"}, tt.flags...)
			args = append(args, "--", "/bin/sh", "-c", tt.script)
			r := prodwrap(t, nil, []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_FILE=false", "PRODWRAP_ENVIRONMENT=test"}, args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			all := decodeItems[checkInItem](t, rcv.HealthItems("check_in", 2*(i+1), 5*time.Second))
			if len(all) != 2*(i+1) {
				t.Fatalf("%d check-ins, want %d\n%s", len(all), 2*(i+1), r.stderr)
			}
			start, end := all[2*i], all[2*i+1]
			if start.Status != "in_progress" || start.Duration != nil || start.MonitorSlug != "nightly" {
				t.Errorf("first check-in %+v, want in_progress of nightly without a duration", start)
			}
			if end.Status != tt.status || end.CheckInID != start.CheckInID || end.MonitorSlug != "nightly" || end.Environment != "test" {
				t.Errorf("last check-in %+v, want %s with the first's id %s", end, tt.status, start.CheckInID)
			}
			if end.Duration == nil || *end.Duration <= 0 || *end.Duration > 10 {
				t.Errorf("duration %v", end.Duration)
			}
			for _, c := range []checkInItem{start, end} {
				mc := c.MonitorConfig
				if tt.flags == nil {
					if mc != nil {
						t.Errorf("monitor config %+v without a schedule", mc)
					}
					continue
				}
				if mc == nil || mc.Schedule.Type != "crontab" || mc.Schedule.Value != "0 3 * * *" || mc.CheckInMargin != 5 || mc.MaxRuntime != 2 || mc.Timezone != "Europe/Vienna" {
					t.Errorf("monitor config %+v", mc)
				}
			}
		})
	}
}

// TestStopIsAnExitedSession: a service stopped by the signal prodwrap
// forwards (systemctl stop, a deploy) ends its session as exited, not
// abnormal; its check-in is an error all the same, as a job killed by a
// signal is one.
func TestStopIsAnExitedSession(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	cmd := command(t, prodwrapBin(t), "--monitor", "service", "--", helperPath(t, "hang"))
	cmd.Env = append(os.Environ(), append(healthEnv(rcv.DSN()), "PRODWRAP_SPOOL="+t.TempDir())...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child not ready: %q %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var ends []string
	for deadline := time.Now().Add(5 * time.Second); len(ends) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ends = sessionEnds(rcv.HealthEnvelopes(0, 0))
	}
	if len(ends) != 1 || ends[0] != "exited" {
		t.Errorf("session ends %v, want [exited]\n%s", ends, stderr.String())
	}
	checkIns := decodeItems[checkInItem](t, rcv.HealthItems("check_in", 2, 5*time.Second))
	if len(checkIns) != 2 || checkIns[1].Status != "error" {
		t.Errorf("check-ins %+v, want in_progress then error", checkIns)
	}
}
