package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
)

// Errors of the monitor settings, for config.Validate.
var (
	// ErrMonitorSlug: a monitor slug that Sentry would refuse.
	ErrMonitorSlug = errors.New("invalid monitor slug: want 1 to 50 lower-case letters, digits, - or _")
	// ErrMonitorSchedule: a schedule that is neither a crontab nor an interval.
	ErrMonitorSchedule = errors.New(`invalid monitor schedule: want a crontab ("0 3 * * *"), @hourly, @daily, @weekly, @monthly, @yearly, or an interval ("@every 2 hours")`)
	// ErrMonitorTimezone: a timezone that is not a tz database name.
	ErrMonitorTimezone = errors.New(`invalid monitor timezone: want a tz database name such as "Europe/Vienna" or "UTC"`)
)

// slugRE is a monitor slug. It and the other patterns of this package are
// compiled on first use, not at every start of prodwrap (this one alone,
// its {1,50} written out, costs some 580 allocations).
var slugRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{1,50}$`) })

// ValidateMonitorSlug checks a Crons monitor slug.
func ValidateMonitorSlug(slug string) error {
	if !slugRE().MatchString(slug) {
		return ErrMonitorSlug
	}
	return nil
}

// cronField is what one crontab field may hold.
var cronField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z*/,\-?LW#]+$`) })

// nicknames are the crontab shorthands, written out.
var nicknames = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// intervalUnits maps the units of "@every N UNIT" to Sentry's.
var intervalUnits = map[string]sentry.MonitorScheduleUnit{
	"minute": sentry.MonitorScheduleUnitMinute, "hour": sentry.MonitorScheduleUnitHour,
	"day": sentry.MonitorScheduleUnitDay, "week": sentry.MonitorScheduleUnitWeek,
	"month": sentry.MonitorScheduleUnitMonth, "year": sentry.MonitorScheduleUnitYear,
}

// ParseMonitorSchedule reads a monitor schedule: a crontab of five
// fields ("0 3 * * *"), a nickname (@hourly, @daily, @weekly, @monthly,
// @yearly), or an interval "@every N UNIT" with UNIT minute, hour, day,
// week, month or year (plural too).
func ParseMonitorSchedule(s string) (sentry.MonitorSchedule, error) {
	s = strings.TrimSpace(s)
	if c, ok := nicknames[s]; ok {
		return sentry.CrontabSchedule(c), nil
	}
	f := strings.Fields(s)
	if len(f) == 3 && f[0] == "@every" {
		n, err := strconv.ParseInt(f[1], 10, 64)
		unit, ok := intervalUnits[strings.TrimSuffix(f[2], "s")]
		if err != nil || n <= 0 || !ok {
			return nil, ErrMonitorSchedule
		}
		return sentry.IntervalSchedule(n, unit), nil
	}
	if len(f) != 5 {
		return nil, ErrMonitorSchedule
	}
	for _, x := range f {
		if !cronField().MatchString(x) {
			return nil, ErrMonitorSchedule
		}
	}
	return sentry.CrontabSchedule(strings.Join(f, " ")), nil
}

// tzRE is the form of a tz database name.
var tzRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)
})

// ValidateMonitorTimezone checks the form of a tz database name; whether
// the name exists is Sentry's to say (this host may have no tzdata).
func ValidateMonitorTimezone(tz string) error {
	if len(tz) > 64 || !tzRE().MatchString(tz) {
		return ErrMonitorTimezone
	}
	return nil
}

// MonitorConfig is what prodwrap upserts with each check-in: the
// monitor is created, or updated, as the configuration says. Zero fields
// are left to Sentry.
type MonitorConfig struct {
	// Schedule is as ParseMonitorSchedule reads it; "" sends no monitor
	// config at all (the monitor must exist in Sentry).
	Schedule string `json:"schedule"`
	// CheckInMargin and MaxRuntime are sent in whole minutes, rounded up.
	CheckInMargin time.Duration `json:"checkin_margin,omitempty"`
	MaxRuntime    time.Duration `json:"max_runtime,omitempty"`
	Timezone      string        `json:"timezone,omitempty"`
}

// sentryConfig is c in sentry-go's type; nil without a schedule.
func (c *MonitorConfig) sentryConfig() (*sentry.MonitorConfig, error) {
	if c == nil || c.Schedule == "" {
		return nil, nil
	}
	sched, err := ParseMonitorSchedule(c.Schedule)
	if err != nil {
		return nil, err
	}
	return &sentry.MonitorConfig{
		Schedule:      sched,
		CheckInMargin: minutesUp(c.CheckInMargin),
		MaxRuntime:    minutesUp(c.MaxRuntime),
		Timezone:      c.Timezone,
	}, nil
}

func minutesUp(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Minute - 1) / time.Minute)
}

// CheckIn is one Sentry Crons check-in as the spool keeps it: the start
// of a job (in_progress), or its end (ok or error, with its duration).
// The start and the end of one run share the ID.
type CheckIn struct {
	// ID is the check-in id, a UUID without dashes.
	ID      string               `json:"id"`
	Monitor string               `json:"monitor"`
	Status  sentry.CheckInStatus `json:"status"`
	// Duration is the job's run time, on the final check-in.
	Duration    time.Duration  `json:"duration,omitempty"`
	Release     string         `json:"release,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Config      *MonitorConfig `json:"config,omitempty"`
	// Time is when the check-in was made.
	Time time.Time `json:"time"`
}

// payload is the `check_in` item: sentry-go's own serialisation of a
// check-in event (check_in_id, monitor_slug, status, duration in seconds,
// release, environment, monitor_config).
func (c *CheckIn) payload() ([]byte, error) {
	mc, err := c.Config.sentryConfig()
	if err != nil {
		return nil, fmt.Errorf("check-in of monitor %s: %w", c.Monitor, err)
	}
	ev := &sentry.Event{
		Type:          "check_in",
		Release:       c.Release,
		Environment:   c.Environment,
		CheckIn:       &sentry.CheckIn{ID: sentry.EventID(c.ID), MonitorSlug: c.Monitor, Status: c.Status, Duration: c.Duration},
		MonitorConfig: mc,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode check-in: %w", err)
	}
	return b, nil
}
