package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/config"
)

// TestSessionsAndMonitor: sessions follow the DSN unless set; a monitor is
// checked as Sentry would (slug, schedule, timezone) and needs a DSN; the
// error names the setting where it came from.
func TestSessionsAndMonitor(t *testing.T) {
	const dsn = "SENTRY_DSN=https://key@sentry.example.com/42"
	load := func(env []string, args ...string) (*config.Config, error) {
		c, _, err := config.Load(config.Options{Args: append(args, "--", "/bin/true"), Env: env})
		return c, err
	}
	if c, err := load(nil); err != nil || c.Sentry.SessionsOn() {
		t.Errorf("no DSN: sessions on %v, %v", c.Sentry.SessionsOn(), err)
	}
	if c, err := load([]string{dsn}); err != nil || !c.Sentry.SessionsOn() {
		t.Errorf("a DSN: sessions on %v, %v", c.Sentry.SessionsOn(), err)
	}
	if c, err := load([]string{dsn, "PRODWRAP_SENTRY_SESSIONS=false"}); err != nil || c.Sentry.SessionsOn() {
		t.Errorf("sessions = false: on %v, %v", c.Sentry.SessionsOn(), err)
	}
	c, err := load([]string{dsn}, "--monitor", "nightly", "--monitor-schedule", "@every 2 hours", "--monitor-checkin-margin", "5m",
		"--monitor-max-runtime", "1h", "--monitor-timezone", "Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sentry
	if s.Monitor != "nightly" || s.MonitorSchedule != "@every 2 hours" || time.Duration(s.MonitorCheckinMargin) != 5*time.Minute ||
		time.Duration(s.MonitorMaxRuntime) != time.Hour || s.MonitorTimezone != "Europe/Vienna" {
		t.Errorf("monitor settings %+v", s)
	}
	for _, tt := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--monitor", "nightly"}, "command line: --monitor: missing: a monitor needs a Sentry DSN"},
		{[]string{dsn, "PRODWRAP_MONITOR=Nightly Job"}, nil, "environment: PRODWRAP_MONITOR: invalid monitor slug"},
		{[]string{dsn}, []string{"--monitor", "nightly", "--monitor-schedule", "every night"}, "command line: --monitor-schedule: invalid monitor schedule"},
		{[]string{dsn}, []string{"--monitor", "nightly", "--monitor-timezone", "Europe Vienna"}, "command line: --monitor-timezone: invalid monitor timezone"},
		{[]string{dsn}, []string{"--monitor-max-runtime", "700h"}, "command line: --monitor-max-runtime: out of range"},
	} {
		_, err := load(tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: error %v, want %q", tt.env, tt.args, err, tt.want)
		}
	}
}
