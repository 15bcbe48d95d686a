package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prodwrap/prodwrap/notify"
)

// kind is what a setting holds, and so how each source writes it.
type kind int

const (
	kindString   kind = iota // a string, one of enum when enum is set
	kindSecret               // a string that is never shown
	kindBool                 // true or false
	kindInt                  // a whole number within [min, max]
	kindSize                 // a byte count within [min, max]: 65536 or "64KiB"
	kindDuration             // a Go duration within [min, max]: "10s"
	kindSignals              // a list of forwardable signals
	kindList                 // a list of environment variable names
	kindTags                 // "key=value,key=value" (in TOML also a table of strings)
	kindURL                  // an absolute http or https URL, or ""
)

// setting is one scalar setting: its names in every source, what it holds
// and the values it accepts. The table below is the one place a setting's
// names, type and range are written; the file, the environment, the flags,
// Validate, check-config and the usage texts all read it.
type setting struct {
	key   string // TOML: "section.name"
	env   string // environment variable, "" for none
	flag  string // command-line flag, "" for none
	usage string
	kind  kind
	// min and max bound ints, sizes and durations (nanoseconds), inclusive.
	min, max int64
	// enum lists the accepted values of a string, when they are a fixed
	// set, and noun names such a value in errors ("level").
	enum []string
	noun string
	// auto says, for a **bool, when nil (unset) means on: check-config
	// writes it.
	auto string
	// ptr returns the field: *string, *Secret, *bool, **bool, *int, *Size,
	// *Duration or *[]string, as kind says.
	ptr func(c *Config) any
}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	day = int64(24 * time.Hour)
)

// maxTailBytes bounds the memory of the log tail: tail_lines lines of up to
// max_line bytes each are held while the child runs.
const maxTailBytes = 64 * mib

// settings lists every scalar setting. The [[webhook]] list is the file's
// (and PRODWRAP_WEBHOOK_URL's for a single one). Why each range is what it
// is: docs/configuration.md, "Ranges".
var settings = []setting{
	// Keys of no section come first: TOML puts them before any table.
	{key: "strict", env: "PRODWRAP_STRICT", flag: "strict", usage: "refuse to run the command when the configuration has an error (exit 125)",
		kind: kindBool, ptr: func(c *Config) any { return &c.Strict }},

	{key: "service.name", env: "PRODWRAP_SERVICE", flag: "service", usage: "service `name` in reports (default: the command's base name)",
		ptr: func(c *Config) any { return &c.Service.Name }},
	{key: "service.environment", env: "PRODWRAP_ENVIRONMENT", flag: "environment", usage: "deployment `environment` (production, staging...)",
		ptr: func(c *Config) any { return &c.Service.Environment }},
	{key: "service.release", env: "PRODWRAP_RELEASE", flag: "release", usage: "`release` name (default: module@version or VCS revision of the binary)",
		ptr: func(c *Config) any { return &c.Service.Release }},

	{key: "capture.tail_lines", env: "PRODWRAP_TAIL_LINES", flag: "tail-lines", usage: "log `lines` kept before the dump (1 to 10000)",
		kind: kindInt, min: 1, max: 10000, ptr: func(c *Config) any { return &c.Capture.TailLines }},
	{key: "capture.max_line", env: "PRODWRAP_MAX_LINE", flag: "max-line", usage: "`size` kept of each log line (64 to 1MiB)",
		kind: kindSize, min: 64, max: mib, ptr: func(c *Config) any { return &c.Capture.MaxLine }},
	{key: "capture.max_dump", env: "PRODWRAP_MAX_DUMP", flag: "max-dump", usage: "`size` kept of a crash dump (64KiB to 4GiB)",
		kind: kindSize, min: 64 * kib, max: 4 * gib, ptr: func(c *Config) any { return &c.Capture.MaxDump }},
	{key: "capture.memory_dump", env: "PRODWRAP_MEMORY_DUMP", flag: "memory-dump", usage: "`size` of the dump held in memory before spilling to the spool (4KiB to 256MiB)",
		kind: kindSize, min: 4 * kib, max: 256 * mib, ptr: func(c *Config) any { return &c.Capture.MemoryDump }},
	{key: "capture.drain_timeout", env: "PRODWRAP_DRAIN_TIMEOUT", flag: "drain-timeout", usage: "how long to read stderr after the child exited (`duration`, 1ms to 1m)",
		kind: kindDuration, min: int64(time.Millisecond), max: int64(time.Minute), ptr: func(c *Config) any { return &c.Capture.DrainTimeout }},
	{key: "capture.gotraceback", env: "PRODWRAP_GOTRACEBACK", flag: "gotraceback", usage: "GOTRACEBACK `value` for the child when it has none (e.g. all)",
		enum: []string{"", "none", "single", "all", "system", "crash", "wer", "0", "1", "2"}, noun: "GOTRACEBACK", ptr: func(c *Config) any { return &c.Capture.Gotraceback }},

	{key: "process.forward_signals", env: "PRODWRAP_FORWARD_SIGNALS", flag: "forward-signals", usage: "comma-separated `signals` forwarded to the child (\"\" or none: none)",
		kind: kindSignals, ptr: func(c *Config) any { return &c.Process.ForwardSignals }},
	{key: "process.process_group", env: "PRODWRAP_PROCESS_GROUP", flag: "process-group", usage: "forward signals to the child's whole process group (tini -g)",
		kind: kindBool, ptr: func(c *Config) any { return &c.Process.ProcessGroup }},
	{key: "process.subreaper", env: "PRODWRAP_SUBREAPER", flag: "subreaper", usage: "become a child subreaper and reap orphaned descendants",
		kind: kindBool, ptr: func(c *Config) any { return &c.Process.Subreaper }},
	{key: "process.scrub_env", env: "PRODWRAP_SCRUB_ENV", flag: "scrub-env", usage: "comma-separated `variables` removed from the child's environment (e.g. SENTRY_DSN); prodwrap's own secrets always are",
		kind: kindList, ptr: func(c *Config) any { return &c.Process.ScrubEnv }},
	{key: "process.pass_secrets", env: "PRODWRAP_PASS_SECRETS", flag: "pass-secrets", usage: "deprecated: keep even prodwrap's own secret variables in the child's environment (SENTRY_* stay there anyway)",
		kind: kindBool, ptr: func(c *Config) any { return &c.Process.PassSecrets }},
	{key: "process.restart", env: "PRODWRAP_RESTART", flag: "restart", usage: "restart `policy`: never, on-failure or always",
		enum: []string{"never", "on-failure", "always"}, noun: "restart policy", ptr: func(c *Config) any { return &c.Process.Restart }},
	{key: "process.restart_delay", env: "PRODWRAP_RESTART_DELAY", flag: "restart-delay", usage: "first wait before a restart (`duration`, 1ms to 24h), doubling up to restart_max_delay",
		kind: kindDuration, min: int64(time.Millisecond), max: day, ptr: func(c *Config) any { return &c.Process.RestartDelay }},
	{key: "process.restart_max_delay", env: "PRODWRAP_RESTART_MAX_DELAY", flag: "restart-max-delay", usage: "longest wait before a restart (`duration`, 1ms to 24h)",
		kind: kindDuration, min: int64(time.Millisecond), max: day, ptr: func(c *Config) any { return &c.Process.RestartMaxDelay }},
	{key: "process.restart_reset", env: "PRODWRAP_RESTART_RESET", flag: "restart-reset", usage: "uptime after which the restart delay starts over (`duration`, 0 to 24h, 0: never)",
		kind: kindDuration, min: 0, max: day, ptr: func(c *Config) any { return &c.Process.RestartReset }},
	{key: "process.max_restarts", env: "PRODWRAP_MAX_RESTARTS", flag: "max-restarts", usage: "restarts allowed within restart_window before giving up (`count`, 0 to 1000000, 0: no cap)",
		kind: kindInt, min: 0, max: 1000000, ptr: func(c *Config) any { return &c.Process.MaxRestarts }},
	{key: "process.restart_window", env: "PRODWRAP_RESTART_WINDOW", flag: "restart-window", usage: "window of max_restarts (`duration`, 0 to 24h, 0: prodwrap's whole life)",
		kind: kindDuration, min: 0, max: day, ptr: func(c *Config) any { return &c.Process.RestartWindow }},

	{key: "spool.dir", env: "PRODWRAP_SPOOL", flag: "spool", usage: "spool `directory` (reports wait here until delivered)",
		ptr: func(c *Config) any { return &c.Spool.Dir }},

	{key: "file.enabled", env: "PRODWRAP_FILE", flag: "file", usage: "keep each report as a JSON file (default: on when no other sink is configured)",
		kind: kindBool, auto: "on when no other sink is configured", ptr: func(c *Config) any { return &c.File.Enabled }},
	{key: "file.dir", env: "PRODWRAP_REPORT_DIR", flag: "report-dir", usage: "`directory` of the file sink (default: <spool>/reports)",
		ptr: func(c *Config) any { return &c.File.Dir }},

	{key: "sentry.dsn", env: "SENTRY_DSN", kind: kindSecret, ptr: func(c *Config) any { return &c.Sentry.DSN }},
	{key: "sentry.dsn_file", env: "PRODWRAP_SENTRY_DSN_FILE", flag: "sentry-dsn-file", usage: "`file` holding the Sentry DSN",
		ptr: func(c *Config) any { return &c.Sentry.DSNFile }},
	{key: "sentry.fingerprint", env: "PRODWRAP_SENTRY_FINGERPRINT", usage: "grouping: \"\" or sentry (Sentry's, by the stack), prodwrap (the report's fingerprint)",
		enum: []string{"", "sentry", "prodwrap"}, noun: "fingerprint", ptr: func(c *Config) any { return &c.Sentry.Fingerprint }},
	{key: "sentry.tags", env: "PRODWRAP_TAGS", flag: "tags", usage: "`tags` added to every Sentry event: key=value,key=value",
		kind: kindTags, ptr: func(c *Config) any { return &c.Sentry.Tags }},
	{key: "sentry.web_url", env: "PRODWRAP_SENTRY_WEB_URL", usage: "the organization's issues URL (https://ORG.sentry.io/issues/): Slack links the event there",
		kind: kindURL, ptr: func(c *Config) any { return &c.Sentry.WebURL }},
	{key: "sentry.environment", env: "SENTRY_ENVIRONMENT", ptr: func(c *Config) any { return &c.Sentry.Environment }},
	{key: "sentry.release", env: "SENTRY_RELEASE", ptr: func(c *Config) any { return &c.Sentry.Release }},
	{key: "sentry.sessions", env: "PRODWRAP_SENTRY_SESSIONS", flag: "sentry-sessions", usage: "send a Sentry release-health session for each run of the command (default: on when a DSN is set)",
		kind: kindBool, auto: "on when a DSN is set", ptr: func(c *Config) any { return &c.Sentry.Sessions }},
	{key: "sentry.monitor", env: "PRODWRAP_MONITOR", flag: "monitor", usage: "Sentry Crons monitor `slug`: check in at each start (in_progress) and end (ok or error)",
		ptr: func(c *Config) any { return &c.Sentry.Monitor }},
	{key: "sentry.monitor_schedule", env: "PRODWRAP_MONITOR_SCHEDULE", flag: "monitor-schedule", usage: "the monitor's `schedule`, upserted with each check-in: a crontab (\"0 3 * * *\"), @daily..., or \"@every 2 hours\"",
		ptr: func(c *Config) any { return &c.Sentry.MonitorSchedule }},
	{key: "sentry.monitor_checkin_margin", env: "PRODWRAP_MONITOR_CHECKIN_MARGIN", flag: "monitor-checkin-margin", usage: "how late a check-in may be before the run counts as missed (`duration`, 0 to 28 days, whole minutes; 0: Sentry's default)",
		kind: kindDuration, min: 0, max: 28 * day, ptr: func(c *Config) any { return &c.Sentry.MonitorCheckinMargin }},
	{key: "sentry.monitor_max_runtime", env: "PRODWRAP_MONITOR_MAX_RUNTIME", flag: "monitor-max-runtime", usage: "how long a run may stay in progress before it counts as failed (`duration`, 0 to 28 days, whole minutes; 0: Sentry's default)",
		kind: kindDuration, min: 0, max: 28 * day, ptr: func(c *Config) any { return &c.Sentry.MonitorMaxRuntime }},
	{key: "sentry.monitor_timezone", env: "PRODWRAP_MONITOR_TIMEZONE", flag: "monitor-timezone", usage: "tz database `name` the schedule is in (default: UTC)",
		ptr: func(c *Config) any { return &c.Sentry.MonitorTimezone }},

	{key: "slack.webhook_url", env: "PRODWRAP_SLACK_WEBHOOK_URL", kind: kindSecret, ptr: func(c *Config) any { return &c.Slack.WebhookURL }},
	{key: "slack.webhook_url_file", env: "PRODWRAP_SLACK_WEBHOOK_URL_FILE", flag: "slack-webhook-file", usage: "`file` holding the Slack incoming-webhook URL",
		ptr: func(c *Config) any { return &c.Slack.WebhookURLFile }},
	{key: "slack.token", env: "PRODWRAP_SLACK_TOKEN", kind: kindSecret, ptr: func(c *Config) any { return &c.Slack.Token }},
	{key: "slack.token_file", env: "PRODWRAP_SLACK_TOKEN_FILE", flag: "slack-token-file", usage: "`file` holding the Slack bot token",
		ptr: func(c *Config) any { return &c.Slack.TokenFile }},
	{key: "slack.channel", env: "PRODWRAP_SLACK_CHANNEL", flag: "slack-channel", usage: "Slack `channel` for the bot token",
		ptr: func(c *Config) any { return &c.Slack.Channel }},
	{key: "slack.api_url", env: "PRODWRAP_SLACK_API_URL", ptr: func(c *Config) any { return &c.Slack.APIURL }},

	{key: "delivery.deadline", env: "PRODWRAP_DEADLINE", flag: "deadline", usage: "bound on delivery after a crash (`duration`, 10ms to 1h)",
		kind: kindDuration, min: int64(10 * time.Millisecond), max: int64(time.Hour), ptr: func(c *Config) any { return &c.Delivery.Deadline }},
	{key: "delivery.flood_window", env: "PRODWRAP_FLOOD_WINDOW", flag: "flood-window", usage: "Slack gets one message per fingerprint in this `duration` (1s to 24h), then a summary",
		kind: kindDuration, min: int64(time.Second), max: day, ptr: func(c *Config) any { return &c.Delivery.FloodWindow }},
	{key: "delivery.min_backoff", env: "PRODWRAP_MIN_BACKOFF", kind: kindDuration, min: int64(time.Millisecond), max: int64(time.Minute),
		ptr: func(c *Config) any { return &c.Delivery.MinBackoff }},
	{key: "delivery.max_backoff", env: "PRODWRAP_MAX_BACKOFF", kind: kindDuration, min: int64(time.Millisecond), max: int64(10 * time.Minute),
		ptr: func(c *Config) any { return &c.Delivery.MaxBackoff }},

	{key: "metrics.listen", env: "PRODWRAP_METRICS_LISTEN", flag: "metrics-listen", usage: "serve Prometheus /metrics on this `address` (e.g. 127.0.0.1:9464)",
		ptr: func(c *Config) any { return &c.Metrics.Listen }},
	{key: "metrics.textfile", env: "PRODWRAP_METRICS_TEXTFILE", flag: "metrics-textfile", usage: "write the metrics to this .prom `file` after each run (node_exporter textfile collector)",
		ptr: func(c *Config) any { return &c.Metrics.Textfile }},

	{key: "log.level", env: "PRODWRAP_LOG_LEVEL", flag: "log-level", usage: "prodwrap's own log `level`: debug, info, warn, error",
		enum: []string{"debug", "info", "warn", "error"}, noun: "level", ptr: func(c *Config) any { return &c.Log.Level }},
	{key: "log.format", env: "PRODWRAP_LOG_FORMAT", flag: "log-format", usage: "prodwrap's own log `format`: auto (JSON unless stderr is a terminal), json, text",
		enum: []string{"auto", "json", "text"}, noun: "format", ptr: func(c *Config) any { return &c.Log.Format }},

	{key: "kubernetes.termination_log", env: "PRODWRAP_TERMINATION_LOG", flag: "termination-log", usage: "`file` the crash summary is written to, at most 4096 bytes (default: /dev/termination-log when KUBERNETES_SERVICE_HOST is set and it is writable; none: off)",
		ptr: func(c *Config) any { return &c.Kubernetes.TerminationLog }},

	{key: "systemd.notify_relay", env: "PRODWRAP_NOTIFY_RELAY", usage: "when NOTIFY_SOCKET is set, give the child a notify socket of prodwrap's and relay its messages to systemd",
		kind: kindBool, ptr: func(c *Config) any { return &c.Systemd.NotifyRelay }},
	{key: "systemd.journal", env: "PRODWRAP_JOURNAL", usage: "when stderr is the journal, also send each crash summary to journald as one structured entry",
		kind: kindBool, ptr: func(c *Config) any { return &c.Systemd.Journal }},
	{key: "systemd.journal_socket", env: "PRODWRAP_JOURNAL_SOCKET", ptr: func(c *Config) any { return &c.Systemd.JournalSocket }},
}

// webhookKeys are the keys of a [[webhook]] table.
var webhookKeys = []string{"name", "url", "url_file", "headers"}

// settingByKey returns the setting of a TOML key, nil for none.
func settingByKey(key string) *setting {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i]
		}
	}
	return nil
}

// Keys lists every setting's TOML key, with "webhook.*" keys for the list.
func Keys() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.key)
	}
	for _, k := range webhookKeys {
		out = append(out, "webhook."+k)
	}
	return out
}

// parseText reads a value written as text: in the environment or a flag.
func (s *setting) parseText(v string) (any, error) {
	switch s.kind {
	case kindBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q: want true or false", v)
		}
		return b, nil
	case kindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("out of range: %s; want %d to %d", v, s.min, s.max)
			}
			return nil, fmt.Errorf("invalid number %q: want a whole number", v)
		}
		return n, nil
	case kindSize:
		return ParseSize(v)
	case kindDuration:
		return parseDuration(v)
	case kindTags:
		if _, err := notify.ParseTags(v); err != nil {
			return nil, err
		}
		return v, nil
	case kindList:
		out := []string{}
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
		return out, nil
	case kindSignals:
		out := []string{}
		if v == "none" {
			return out, nil
		}
		for _, sig := range strings.Split(v, ",") {
			if sig = strings.TrimSpace(sig); sig != "" {
				out = append(out, sig)
			}
		}
		return out, nil
	}
	return v, nil
}

// parseTOML reads a value of the file, checking its TOML type.
func (s *setting) parseTOML(v any) (any, error) {
	switch s.kind {
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, wrongType(v, "a boolean (true or false)")
	case kindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
		return nil, wrongType(v, "an integer")
	case kindSize:
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return nil, fmt.Errorf("invalid size %d: want a byte count such as 65536, 64KiB, 4MiB or 1GiB", x)
			}
			return x, nil
		case string:
			return ParseSize(x)
		}
		return nil, wrongType(v, `a byte count (65536) or a size string ("64KiB")`)
	case kindDuration:
		if d, ok := v.(string); ok {
			return parseDuration(d)
		}
		return nil, wrongType(v, `a duration string such as "10s"`)
	case kindTags:
		switch x := v.(type) {
		case string:
			if _, err := notify.ParseTags(x); err != nil {
				return nil, err
			}
			return x, nil
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			items := make([]string, 0, len(keys))
			for _, k := range keys {
				val, ok := x[k].(string)
				if !ok {
					return nil, wrongType(x[k], "a string (a tag's value)")
				}
				items = append(items, k+"="+val)
			}
			text := strings.Join(items, ",")
			if _, err := notify.ParseTags(text); err != nil {
				return nil, err
			}
			return text, nil
		}
		return nil, wrongType(v, `a string "key=value,key=value" or a table of strings`)
	case kindList:
		list, ok := v.([]any)
		if !ok {
			return nil, wrongType(v, `an array of variable names such as ["SENTRY_DSN"]`)
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			name, ok := e.(string)
			if !ok {
				return nil, wrongType(e, `an array of variable names such as ["SENTRY_DSN"]`)
			}
			out = append(out, name)
		}
		return out, nil
	case kindSignals:
		list, ok := v.([]any)
		if !ok {
			return nil, wrongType(v, `an array of signal names such as ["SIGTERM", "SIGINT"]`)
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			name, ok := e.(string)
			if !ok {
				return nil, wrongType(e, `an array of signal names such as ["SIGTERM", "SIGINT"]`)
			}
			out = append(out, name)
		}
		return out, nil
	}
	if str, ok := v.(string); ok {
		return str, nil
	}
	return nil, wrongType(v, "a string")
}

// wrongType is the error for a TOML value of the wrong type.
func wrongType(v any, want string) error {
	var got string
	switch v.(type) {
	case string:
		got = "a string"
	case int64:
		got = "an integer"
	case float64:
		got = "a float"
	case bool:
		got = "a boolean"
	case []any:
		got = "an array"
	case map[string]any:
		got = "a table"
	case []map[string]any:
		got = "an array of tables"
	default:
		got = "a date or time"
	}
	return fmt.Errorf("wrong type: the value is %s, want %s", got, want)
}

// store sets the field to v, as parseText or parseTOML returned it.
func (s *setting) store(c *Config, v any) {
	switch p := s.ptr(c).(type) {
	case *string:
		*p = v.(string)
	case *Secret:
		*p = Secret(v.(string))
	case *bool:
		*p = v.(bool)
	case **bool:
		b := v.(bool)
		*p = &b
	case *int:
		// Beyond int (on 32-bit systems) is beyond every setting's range:
		// clamp, and check reports it.
		*p = int(max(min(v.(int64), math.MaxInt), math.MinInt))
	case *Size:
		*p = Size(v.(int64))
	case *Duration:
		*p = Duration(v.(time.Duration))
	case *[]string:
		*p = v.([]string)
	}
}

// check says whether the field's value is one the setting accepts.
func (s *setting) check(c *Config) error {
	switch p := s.ptr(c).(type) {
	case *string:
		if s.kind == kindTags {
			_, err := notify.ParseTags(*p)
			return err
		}
		if s.kind == kindURL && *p != "" {
			if u, err := url.Parse(*p); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("invalid URL %q: want an absolute http or https URL such as https://ORG.sentry.io/issues/", *p)
			}
		}
		if s.enum != nil && !slices.Contains(s.enum, *p) {
			return fmt.Errorf("invalid %s %q: want %s", s.noun, *p, orList(s.enum))
		}
	case *int:
		return s.inRange(int64(*p))
	case *Size:
		return s.inRange(int64(*p))
	case *Duration:
		return s.inRange(int64(*p))
	case *[]string:
		for _, name := range *p {
			if s.kind == kindList {
				if name == "" || strings.ContainsAny(name, "= \t\n\x00") {
					return fmt.Errorf("invalid variable name %q: want a name such as SENTRY_DSN", name)
				}
				continue
			}
			if _, err := ParseForwardSignal(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *setting) inRange(n int64) error {
	if n >= s.min && n <= s.max {
		return nil
	}
	return fmt.Errorf("out of range: %s; want %s to %s", s.show(n), s.show(s.min), s.show(s.max))
}

// show writes a number of the setting's kind for a message.
func (s *setting) show(n int64) string {
	switch s.kind {
	case kindSize:
		b, _ := Size(n).MarshalText()
		return string(b)
	case kindDuration:
		return shortDuration(time.Duration(n))
	}
	return strconv.FormatInt(n, 10)
}

// shortDuration is d as time.Duration writes it, without the zero minutes
// and seconds of round values: 24h, 1m, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// orList writes "a, b or c" ("" shown as "\"\"").
func orList(vals []string) string {
	q := make([]string, 0, len(vals))
	for _, v := range vals {
		if v == "" {
			v = `""`
		}
		q = append(q, v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// text is the value as check-config and the flag defaults show it; a
// secret is masked.
func (s *setting) text(c *Config) string {
	switch p := s.ptr(c).(type) {
	case *string:
		return *p
	case *Secret:
		return p.String()
	case *bool:
		return strconv.FormatBool(*p)
	case **bool:
		if *p == nil {
			return "auto"
		}
		return strconv.FormatBool(**p)
	case *int:
		return strconv.Itoa(*p)
	case *Size:
		b, _ := p.MarshalText()
		return string(b)
	case *Duration:
		b, _ := p.MarshalText()
		return string(b)
	case *[]string:
		return strings.Join(*p, ",")
	}
	return ""
}

// FlagUsage writes the run command's flags.
func FlagUsage(w io.Writer) {
	fs := newFlagSet("prodwrap")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// newFlagSet defines --config and every setting's flag, each holding its
// text until the sources are merged.
func newFlagSet(name string) *flag.FlagSet {
	fs := configFlagSet(name)
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		v := &flagValue{isBool: s.kind == kindBool}
		fs.Var(v, s.flag, s.usage)
		if s.flag == "process-group" {
			fs.Var(v, "g", "short for --process-group")
		}
	}
	return fs
}

// configFlagSet defines --config alone.
func configFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&flagValue{}, "config", "configuration `file` (default: $PRODWRAP_CONFIG, else "+DefaultPath+" if present)")
	return fs
}

// beginsWithFlag reports whether args begin with a flag: not with "--",
// "-" or an argument that does not start with "-", where the flag package
// stops parsing.
func beginsWithFlag(args []string) bool {
	return len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && args[0] != "--"
}

// EnvUsage writes the environment variables and the settings they set.
func EnvUsage(w io.Writer) {
	fmt.Fprintln(w, "  PRODWRAP_CONFIG                  configuration file")
	for _, s := range settings {
		if s.env != "" {
			fmt.Fprintf(w, "  %-32s %s\n", s.env, s.key)
		}
	}
	fmt.Fprintln(w, "  PRODWRAP_WEBHOOK_URL             one webhook sink")
	fmt.Fprintln(w, "  CREDENTIALS_DIRECTORY            systemd credentials: sentry-dsn, slack-token, slack-webhook-url, webhook-url")
}
