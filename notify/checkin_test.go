package notify

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/google/go-cmp/cmp"
)

func TestParseMonitorSchedule(t *testing.T) {
	tests := []struct {
		in   string
		want string // the schedule's JSON; "" for an error
	}{
		{"0 3 * * *", `{"type":"crontab","value":"0 3 * * *"}`},
		{"  */5   * * * 1-5 ", `{"type":"crontab","value":"*/5 * * * 1-5"}`},
		{"@daily", `{"type":"crontab","value":"0 0 * * *"}`},
		{"@hourly", `{"type":"crontab","value":"0 * * * *"}`},
		{"@every 2 hours", `{"type":"interval","value":2,"unit":"hour"}`},
		{"@every 1 day", `{"type":"interval","value":1,"unit":"day"}`},
		{"@every 0 days", ""},
		{"@every 2 fortnights", ""},
		{"0 3 * *", ""},
		{"0 3 * * * *", ""},
		{"0 3 * * ;rm", ""},
		{"", ""},
	}
	for _, tt := range tests {
		s, err := ParseMonitorSchedule(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrMonitorSchedule) {
				t.Errorf("ParseMonitorSchedule(%q) = %v, %v; want ErrMonitorSchedule", tt.in, s, err)
			}
			continue
		}
		b, _ := json.Marshal(s)
		if err != nil || string(b) != tt.want {
			t.Errorf("ParseMonitorSchedule(%q) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
}

func TestValidateMonitor(t *testing.T) {
	for _, slug := range []string{"nightly", "db-backup_2", "a"} {
		if err := ValidateMonitorSlug(slug); err != nil {
			t.Errorf("slug %q: %v", slug, err)
		}
	}
	for _, slug := range []string{"", "Nightly", "a b", "x/y", "123456789012345678901234567890123456789012345678901"} {
		if err := ValidateMonitorSlug(slug); !errors.Is(err, ErrMonitorSlug) {
			t.Errorf("slug %q: %v, want ErrMonitorSlug", slug, err)
		}
	}
	for _, tz := range []string{"UTC", "Europe/Vienna", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} {
		if err := ValidateMonitorTimezone(tz); err != nil {
			t.Errorf("timezone %q: %v", tz, err)
		}
	}
	for _, tz := range []string{"", "Europe Vienna", "/etc/passwd", "../x"} {
		if err := ValidateMonitorTimezone(tz); !errors.Is(err, ErrMonitorTimezone) {
			t.Errorf("timezone %q: %v, want ErrMonitorTimezone", tz, err)
		}
	}
}

// TestCheckInPayload: the check_in item is sentry-go's serialisation:
// the duration in seconds, the margins in whole minutes rounded up.
func TestCheckInPayload(t *testing.T) {
	c := &CheckIn{ID: "0123456789abcdef0123456789abcdef", Monitor: "nightly", Status: sentry.CheckInStatusError,
		Duration: 1500 * time.Millisecond, Release: "api@1", Environment: "prod",
		Config: &MonitorConfig{Schedule: "@every 2 hours", CheckInMargin: 5 * time.Minute, MaxRuntime: 61 * time.Second, Timezone: "Europe/Vienna"}}
	b, err := c.payload()
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	json.Unmarshal(b, &got)
	json.Unmarshal([]byte(`{"check_in_id":"0123456789abcdef0123456789abcdef","monitor_slug":"nightly","status":"error","duration":1.5,
		"release":"api@1","environment":"prod","monitor_config":{"schedule":{"type":"interval","value":2,"unit":"hour"},
		"checkin_margin":5,"max_runtime":2,"timezone":"Europe/Vienna"}}`), &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("check-in mismatch (-want +got):\n%s", diff)
	}
	c = &CheckIn{ID: "0123456789abcdef0123456789abcdef", Monitor: "nightly", Status: sentry.CheckInStatusInProgress}
	b, _ = c.payload()
	if string(b) != `{"check_in_id":"0123456789abcdef0123456789abcdef","monitor_slug":"nightly","status":"in_progress"}` {
		t.Errorf("in_progress check-in %s", b)
	}
}
