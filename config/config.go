// Package config loads prodwrap's configuration from its four sources —
// built-in defaults, a TOML file, the environment and the command line —
// with that precedence (a flag beats the environment beats the file beats
// the default), and remembers where each value came from.
//
// # Strictness
//
// A typo must never silently disable crash reporting, so every input that
// is not understood is an error, an *Error naming where the value came from
// (file:line, the environment variable, the flag) and the key: an unknown
// key (with a did-you-mean), a value of the wrong TOML type, a duration,
// size, URL, DSN or signal name that does not parse, a number, size or
// duration outside its documented range (docs/configuration.md), a signal
// that can never be forwarded. What the caller does with the error (refuse
// to start, or start the child with the defaults) is the caller's.
//
// The settings table (settings.go) is the one place each setting's names,
// type and range are written; the TOML decoding (toml.go) walks the file
// with it, so that every value of the file is type-checked and placed.
//
// # Secrets
//
// The Sentry DSN and webhook URLs and headers are of type Secret: they print
// as "***" everywhere (logs, errors, check-config). Each can come from the
// file itself, from a file named by the matching *_file key, from systemd
// credentials ($CREDENTIALS_DIRECTORY/sentry-dsn, .../webhook-url), or from
// the environment (SENTRY_DSN, PRODWRAP_WEBHOOK_URL). prodwrap's own secret
// variables are removed from the child's environment (see ChildEnv).
package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/supervise"
)

// Config is prodwrap's whole configuration.
type Config struct {
	// Strict refuses to run with any configuration error (see
	// Options.Lenient).
	Strict bool `toml:"strict"`

	Service  Service   `toml:"service"`
	Capture  Capture   `toml:"capture"`
	Process  Process   `toml:"process"`
	Spool    Spool     `toml:"spool"`
	File     File      `toml:"file"`
	Sentry   Sentry    `toml:"sentry"`
	Slack    Slack     `toml:"slack"`
	Webhooks []Webhook `toml:"webhook"`
	Delivery Delivery  `toml:"delivery"`
	Log      Log       `toml:"log"`
	Metrics  Metrics   `toml:"metrics"`

	Kubernetes Kubernetes `toml:"kubernetes"`
	Systemd    Systemd    `toml:"systemd"`

	// Path is the configuration file that was read, "" for none.
	Path string `toml:"-"`
	// origins records where each setting's value came from, by key
	// ("capture.tail_lines", "webhook[0].url").
	origins map[string]origin
}

// origin is where a value came from: its source, and there the line of the
// file or the name of the variable or flag.
type origin struct {
	src  Source
	line int // FromFile: the key's line, 0 when unknown
	col  int
	// name is the name to show instead of the key: the variable
	// (FromEnv), the flag (FromFlag), or the *_file key a secret was read
	// through.
	name string
	// masked: the file held check-config's mask, "***", not a value.
	masked bool
}

// Service names what runs.
type Service struct {
	// Name defaults to the command's base name.
	Name        string `toml:"name"`
	Environment string `toml:"environment"`
	// Release defaults to <module>@<version> or the VCS revision of the binary.
	Release string `toml:"release"`
}

// Capture bounds what is kept of the child's stderr.
type Capture struct {
	TailLines    int      `toml:"tail_lines"`
	MaxLine      Size     `toml:"max_line"`
	MaxDump      Size     `toml:"max_dump"`
	MemoryDump   Size     `toml:"memory_dump"`
	DrainTimeout Duration `toml:"drain_timeout"`
	// Gotraceback is set as GOTRACEBACK for the child when the child's
	// environment has none; "" leaves the environment alone.
	Gotraceback string `toml:"gotraceback"`
}

// Process controls the child process.
type Process struct {
	ForwardSignals []string `toml:"forward_signals"`
	ProcessGroup   bool     `toml:"process_group"`
	Subreaper      bool     `toml:"subreaper"`
	// ScrubEnv lists variables removed from the child's environment besides
	// prodwrap's own secrets (PRODWRAP_*, always removed): ["SENTRY_DSN"]
	// for a child that must not report to Sentry itself. Empty by default:
	// the child keeps SENTRY_DSN, SENTRY_ENVIRONMENT and SENTRY_RELEASE.
	ScrubEnv []string `toml:"scrub_env"`
	// PassSecrets is deprecated (a warning says so): it keeps even
	// prodwrap's own secrets in the child's environment. Library mode
	// (selfwrap) sets it, as the program's environment is its own.
	PassSecrets bool `toml:"pass_secrets"`
	// Restart is never (run once), on-failure or always.
	Restart string `toml:"restart"`
	// RestartDelay is the first wait before a restart; it doubles up to
	// RestartMaxDelay and starts over once the child stayed up RestartReset.
	RestartDelay    Duration `toml:"restart_delay"`
	RestartMaxDelay Duration `toml:"restart_max_delay"`
	RestartReset    Duration `toml:"restart_reset"`
	// MaxRestarts within RestartWindow; past it prodwrap gives up and exits
	// with the last status. 0 means no cap.
	MaxRestarts   int      `toml:"max_restarts"`
	RestartWindow Duration `toml:"restart_window"`
}

// Spool is the durable queue of reports.
type Spool struct {
	// Dir defaults as docs/architecture.md says; see watch.DefaultSpoolDir.
	Dir string `toml:"dir"`
}

// File is the file sink.
type File struct {
	// Enabled defaults to true when no other sink is configured.
	Enabled *bool `toml:"enabled"`
	// Dir defaults to <spool>/reports.
	Dir string `toml:"dir"`
}

// Sentry is the Sentry sink.
type Sentry struct {
	// Fingerprint is "" or "sentry" (Sentry groups the event by its stack,
	// as it groups sentry-go's), or "prodwrap" (the report's fingerprint).
	Fingerprint string `toml:"fingerprint"`
	// Tags are added to every event, "key=value,key=value" (in the file
	// also a table of strings); the program's own tags win a clash.
	Tags string `toml:"tags"`
	// WebURL is the organization's issues URL
	// (https://ORG.sentry.io/issues/): Slack messages link the event there.
	WebURL string `toml:"web_url"`

	DSN         Secret `toml:"dsn"`
	DSNFile     string `toml:"dsn_file"`
	Environment string `toml:"environment"`
	Release     string `toml:"release"`
	// Sessions sends a release-health session for each run of the child;
	// nil means on when a DSN is set (docs/release-health.md says why).
	Sessions *bool `toml:"sessions"`
	// Monitor is the slug of a Crons monitor that each run checks in to
	// (in_progress at start, ok or error at the end); "" for none.
	Monitor string `toml:"monitor"`
	// MonitorSchedule, when set, is upserted with each check-in as the
	// monitor's config, with MonitorCheckinMargin, MonitorMaxRuntime
	// (whole minutes, rounded up; 0 leaves them to Sentry) and
	// MonitorTimezone.
	MonitorSchedule      string   `toml:"monitor_schedule"`
	MonitorCheckinMargin Duration `toml:"monitor_checkin_margin"`
	MonitorMaxRuntime    Duration `toml:"monitor_max_runtime"`
	MonitorTimezone      string   `toml:"monitor_timezone"`
}

// SessionsOn reports whether release-health sessions are sent: as
// sessions says, else whenever a DSN is set.
func (s Sentry) SessionsOn() bool {
	if s.DSN == "" {
		return false
	}
	return s.Sessions == nil || *s.Sessions
}

// Slack is the Slack sink: an incoming webhook, or a bot token and a channel.
type Slack struct {
	WebhookURL     Secret `toml:"webhook_url"`
	WebhookURLFile string `toml:"webhook_url_file"`
	Token          Secret `toml:"token"`
	TokenFile      string `toml:"token_file"`
	Channel        string `toml:"channel"`
	// APIURL replaces https://slack.com/api/ (tests, proxies).
	APIURL string `toml:"api_url"`
}

// Webhook is one webhook sink ([[webhook]] in the file).
type Webhook struct {
	Name    string            `toml:"name"`
	URL     Secret            `toml:"url"`
	URLFile string            `toml:"url_file"`
	Headers map[string]Secret `toml:"headers"`
}

// Delivery bounds the work after a crash.
type Delivery struct {
	Deadline Duration `toml:"deadline"`
	// FloodWindow: within it, Slack gets one message per fingerprint and
	// then a summary of the repeats.
	FloodWindow Duration `toml:"flood_window"`
	MinBackoff  Duration `toml:"min_backoff"`
	MaxBackoff  Duration `toml:"max_backoff"`
}

// Metrics exposes prodwrap's Prometheus metrics; both are off by default.
type Metrics struct {
	// Listen is an address for /metrics, e.g. "127.0.0.1:9464".
	Listen string `toml:"listen"`
	// Textfile is a .prom file for node_exporter's textfile collector,
	// rewritten atomically after each run of the child.
	Textfile string `toml:"textfile"`
}

// Kubernetes is what prodwrap tells Kubernetes of a crash.
type Kubernetes struct {
	// TerminationLog is the file the crash summary is written to (the
	// container's terminationMessagePath). "" means /dev/termination-log
	// when KUBERNETES_SERVICE_HOST is set and that file is writable;
	// "none" turns it off.
	TerminationLog string `toml:"termination_log"`
}

// Systemd is what prodwrap does for systemd when it runs under it.
type Systemd struct {
	// NotifyRelay, when NOTIFY_SOCKET is set, gives the child a notify
	// socket of prodwrap's own and relays what arrives there to systemd's,
	// from prodwrap's PID (docs/systemd.md). false leaves NOTIFY_SOCKET to
	// the child as it is.
	NotifyRelay bool `toml:"notify_relay"`
	// Journal, when prodwrap's stderr is the journal (JOURNAL_STREAM),
	// also sends each crash summary to journald as one structured entry.
	Journal bool `toml:"journal"`
	// JournalSocket is journald's native socket.
	JournalSocket string `toml:"journal_socket"`
}

// DefaultJournalSocket is journald's native protocol socket.
const DefaultJournalSocket = "/run/systemd/journal/socket"

// Log configures prodwrap's own log lines.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // auto, json, text
}

// Default returns the built-in defaults. Where a library package
// documents a default of its own (supervise's capture bounds, drain time
// and signal list; notify's delivery bounds), this is that value.
func Default() *Config {
	return &Config{
		Capture: Capture{
			TailLines:    supervise.DefaultTailLines,
			MaxLine:      supervise.DefaultMaxLine,
			MaxDump:      supervise.DefaultMaxDump,
			MemoryDump:   supervise.DefaultMemoryDump,
			DrainTimeout: Duration(supervise.DefaultWaitDelay),
		},
		Process: Process{
			ForwardSignals:  DefaultSignals(),
			ScrubEnv:        []string{},
			Restart:         "never",
			RestartDelay:    Duration(time.Second),
			RestartMaxDelay: Duration(time.Minute),
			RestartReset:    Duration(5 * time.Minute),
			MaxRestarts:     10,
			RestartWindow:   Duration(10 * time.Minute),
		},
		Delivery: Delivery{
			Deadline:    Duration(notify.DefaultDeadline),
			FloodWindow: Duration(notify.DefaultFloodWindow),
			MinBackoff:  Duration(notify.DefaultMinBackoff),
			MaxBackoff:  Duration(notify.DefaultMaxBackoff),
		},
		Log:     Log{Level: "info", Format: "auto"},
		Systemd: Systemd{NotifyRelay: true, Journal: true, JournalSocket: DefaultJournalSocket},
		origins: map[string]origin{},
	}
}

// DefaultSignals are the names of the signals forwarded by default:
// supervise.DefaultSignals.
func DefaultSignals() []string {
	out := make([]string, 0, len(supervise.DefaultSignals))
	for _, s := range supervise.DefaultSignals {
		if sig, ok := s.(unix.Signal); ok {
			out = append(out, unix.SignalName(sig))
		}
	}
	return out
}

// Source says where a value came from.
type Source int

// The sources, lowest precedence first.
const (
	FromDefault Source = iota
	FromFile
	FromEnv
	FromFlag
)

func (s Source) String() string {
	return [...]string{"default", "file", "env", "flag"}[s]
}

// SourceOf returns where the setting named key ("capture.tail_lines",
// "webhook[0].url") got its value.
func (c *Config) SourceOf(key string) Source { return c.origins[key].src }

func (c *Config) setOrigin(key string, o origin) {
	if c.origins == nil {
		c.origins = map[string]origin{}
	}
	c.origins[key] = o
}

// errorAt is err about the value of key, placed where that value came from.
func (c *Config) errorAt(key string, err error) *Error {
	o := c.origins[key]
	e := &Error{Key: key, Err: err}
	if o.name != "" {
		e.Key = o.name
	}
	switch o.src {
	case FromFlag:
		e.Source = "command line"
	case FromEnv:
		e.Source = "environment"
	case FromFile:
		e.Source, e.Line, e.Col = c.Path, o.line, o.col
	default:
		e.Source = "default"
	}
	return e
}

// Secret is a value that must never be shown: it formats as "***".
type Secret string

// Masked is how a secret is shown.
const Masked = "***"

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Masked
}

// GoString masks the secret in %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText masks the secret in JSON and TOML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the secret.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// Duration is a time.Duration written as "10s", "1m30s".
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid duration %q: want a non-negative Go duration such as 10s, 500ms or 1m30s", s)
	}
	return v, nil
}

// MarshalText writes the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Size is a byte count written as 65536, "64KiB", "4MiB", "1GiB".
type Size int64

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalText writes the size in the largest whole unit.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range []struct {
		name string
		n    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.n == 0 {
			return []byte(strconv.FormatInt(int64(s)/u.n, 10) + u.name), nil
		}
	}
	return []byte(strconv.FormatInt(int64(s), 10)), nil
}

// ParseSize parses "123", "64KiB", "4MiB", "1GiB" (also KB/MB/GB as powers
// of 1024, and k/M/G).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: want a byte count such as 65536, 64KiB, 4MiB or 1GiB", s)
	}
	return n * mult, nil
}

// Error is a configuration error: what, and where it was found.
type Error struct {
	// Source is where the bad value came from: a file path, "environment"
	// or "command line".
	Source string
	Line   int // 0 when unknown
	Col    int
	Key    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Validate checks what the types cannot: every setting within its range
// (see docs/configuration.md), the signals forwardable, the DSN, the Slack
// and webhook sinks as their constructors will (notify.ValidateSlack,
// notify.ValidateWebhook), and the settings that bound one another. The
// error names the key and where its value came from (file:line, the
// variable, the flag).
func (c *Config) Validate() error {
	return c.validate(&problems{})
}

// validate is Validate; a lenient load goes on after each problem with the
// setting back at its default, the sink left out.
func (c *Config) validate(p *problems) error {
	for i := range settings {
		s := &settings[i]
		if err := s.check(c); err != nil {
			if err := p.add(c.errorAt(s.key, err)); err != nil {
				return err
			}
			s.reset(c)
		}
	}
	if n := int64(c.Capture.TailLines) * int64(c.Capture.MaxLine); n > maxTailBytes {
		key := c.blame("capture.tail_lines", "capture.max_line")
		err := fmt.Errorf("tail_lines × max_line is %s, more than the %s the tail may hold: lower one of them", showSize(n), showSize(maxTailBytes))
		if err := p.add(c.errorAt(key, err)); err != nil {
			return err
		}
		c.resetKeys("capture.tail_lines", "capture.max_line")
	}
	if c.Process.RestartDelay > c.Process.RestartMaxDelay {
		err := fmt.Errorf("restart_delay (%s) is more than restart_max_delay (%s)",
			shortDuration(time.Duration(c.Process.RestartDelay)), shortDuration(time.Duration(c.Process.RestartMaxDelay)))
		if err := p.add(c.errorAt(c.blame("process.restart_max_delay", "process.restart_delay"), err)); err != nil {
			return err
		}
		c.resetKeys("process.restart_delay", "process.restart_max_delay")
	}
	if c.Delivery.MinBackoff > c.Delivery.MaxBackoff {
		err := fmt.Errorf("min_backoff (%s) is more than max_backoff (%s)",
			shortDuration(time.Duration(c.Delivery.MinBackoff)), shortDuration(time.Duration(c.Delivery.MaxBackoff)))
		if err := p.add(c.errorAt(c.blame("delivery.max_backoff", "delivery.min_backoff"), err)); err != nil {
			return err
		}
		c.resetKeys("delivery.min_backoff", "delivery.max_backoff")
	}
	if c.Sentry.DSN != "" {
		if err := notify.ValidateSentryDSN(c.Sentry.DSN.Reveal()); err != nil {
			if err := p.add(c.errorAt("sentry.dsn", err)); err != nil {
				return err
			}
			c.resetKeys("sentry.dsn")
		}
	}
	if e := c.validateMonitor(); e != nil {
		if err := p.add(e); err != nil {
			return err
		}
		c.resetKeys("sentry.monitor", "sentry.monitor_schedule", "sentry.monitor_timezone")
	}
	if e := c.validateSlack(); e != nil {
		if err := p.add(e); err != nil {
			return err
		}
		c.resetKeys("slack.webhook_url", "slack.token")
	}
	var drop []int
	for i, w := range c.Webhooks {
		if e := c.validateWebhook(i, w); e != nil {
			if err := p.add(e); err != nil {
				return err
			}
			drop = append(drop, i)
		}
	}
	c.dropWebhooks(drop)
	return nil
}

// blame returns which of two settings that conflict an error names: the
// one from the higher source (a flag over the file), a on a tie.
func (c *Config) blame(a, b string) string {
	if c.SourceOf(b) > c.SourceOf(a) {
		return b
	}
	return a
}

// errorMissing is err about key, which is missing: placed where the value
// that needs it (needer) came from.
func (c *Config) errorMissing(key, needer string, err error) *Error {
	if c.SourceOf(key) != FromDefault {
		return c.errorAt(key, err)
	}
	e := c.errorAt(needer, err)
	if src := c.SourceOf(needer); src == FromFile || src == FromDefault {
		e.Key = key
	}
	return e
}

// validateMonitor checks the Crons monitor with notify's rules: a slug
// Sentry accepts, a DSN to send to, a schedule and timezone it reads.
func (c *Config) validateMonitor() *Error {
	s := c.Sentry
	if s.Monitor == "" {
		return nil
	}
	if err := notify.ValidateMonitorSlug(s.Monitor); err != nil {
		return c.errorAt("sentry.monitor", err)
	}
	if s.DSN == "" {
		return c.errorMissing("sentry.dsn", "sentry.monitor", errors.New("missing: a monitor needs a Sentry DSN"))
	}
	if s.MonitorSchedule != "" {
		if _, err := notify.ParseMonitorSchedule(s.MonitorSchedule); err != nil {
			return c.errorAt("sentry.monitor_schedule", err)
		}
	}
	if s.MonitorTimezone != "" {
		if err := notify.ValidateMonitorTimezone(s.MonitorTimezone); err != nil {
			return c.errorAt("sentry.monitor_timezone", err)
		}
	}
	return nil
}

// validateSlack checks the Slack sink, when one is configured, with the
// sink's own rules.
func (c *Config) validateSlack() *Error {
	s := c.Slack
	if s.WebhookURL == "" && s.Token == "" {
		return nil
	}
	err := notify.ValidateSlack(notify.SlackOptions{WebhookURL: s.WebhookURL.Reveal(), Token: s.Token.Reveal(), Channel: s.Channel, APIURL: s.APIURL})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, notify.ErrSlackBoth):
		return c.errorAt(c.blame("slack.token", "slack.webhook_url"), err)
	case errors.Is(err, notify.ErrSlackChannel):
		return c.errorMissing("slack.channel", "slack.token", fmt.Errorf("missing: %w", err))
	case errors.Is(err, notify.ErrURL) && s.WebhookURL != "" && notify.ValidateURL(s.WebhookURL.Reveal()) != nil:
		return c.errorAt("slack.webhook_url", err)
	case errors.Is(err, notify.ErrURL):
		return c.errorAt("slack.api_url", err)
	}
	return c.errorAt("slack.webhook_url", err)
}

// validateWebhook checks the i-th webhook sink with the sink's own rules.
func (c *Config) validateWebhook(i int, w Webhook) *Error {
	key := fmt.Sprintf("webhook[%d].url", i)
	if w.URL == "" {
		return c.errorAt(key, errors.New("missing: each [[webhook]] needs url or url_file"))
	}
	if err := notify.ValidateURL(w.URL.Reveal()); err != nil {
		return c.errorAt(key, err)
	}
	names := make([]string, 0, len(w.Headers))
	for name := range w.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := notify.ValidateHeader(name, w.Headers[name].Reveal()); err != nil {
			return c.errorAt(fmt.Sprintf("webhook[%d].headers.%s", i, name), err)
		}
	}
	return nil
}

func showSize(n int64) string {
	b, _ := Size(n).MarshalText()
	return string(b)
}

// ParseForwardSignal is ParseSignal for a signal prodwrap is to forward:
// one that can be caught and that neither prodwrap nor the Go runtime
// needs for itself.
func ParseForwardSignal(s string) (unix.Signal, error) {
	sig, err := ParseSignal(s)
	if err != nil {
		return 0, err
	}
	if err := supervise.CanForward(sig); err != nil {
		return 0, err
	}
	return sig, nil
}

// ParseSignal accepts "SIGTERM", "TERM" or "15".
func ParseSignal(s string) (unix.Signal, error) {
	// A name is tried as a number only when it looks like one: a failed
	// Atoi allocates its error, for each of the dozen names of each start.
	if s != "" && strings.ContainsRune("0123456789+-", rune(s[0])) {
		if n, err := strconv.Atoi(s); err == nil {
			if n <= 0 || n >= 65 {
				return 0, fmt.Errorf("invalid signal %q: numbers go from 1 to 64", s)
			}
			return unix.Signal(n), nil
		}
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q: want a name such as SIGTERM or TERM, or a number", s)
	}
	return sig, nil
}
