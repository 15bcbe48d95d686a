// Package config loads prodwrap's configuration from its four sources —
// built-in defaults, a TOML file, the environment and the command line —
// with that precedence (a flag beats the environment beats the file beats
// the default), and remembers where each value came from.
//
// # Strictness
//
// A typo must never silently disable crash reporting, so every input that
// is not understood is an error (an *Error naming file, line and key): an
// unknown key, a value of the wrong type, a duration, size, URL, DSN or
// signal name that does not parse. prodwrap exits 125 on any of them before
// it starts the child.
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
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/notify"
)

// Config is prodwrap's whole configuration.
type Config struct {
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

	// Path is the configuration file that was read, "" for none.
	Path string `toml:"-"`
	// sources records where each setting's value came from.
	sources map[string]Source
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
	// PassSecrets keeps prodwrap's secret variables (SENTRY_DSN, ...) in the
	// child's environment, for children that use them themselves.
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
	// Dir defaults as design.md says; see DefaultSpoolDir.
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
	DSN         Secret `toml:"dsn"`
	DSNFile     string `toml:"dsn_file"`
	Environment string `toml:"environment"`
	Release     string `toml:"release"`
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

// Log configures prodwrap's own log lines.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // auto, json, text
}

// Default returns the built-in defaults.
func Default() *Config {
	return &Config{
		Capture: Capture{
			TailLines:    100,
			MaxLine:      4 << 10,
			MaxDump:      64 << 20,
			MemoryDump:   4 << 20,
			DrainTimeout: Duration(2 * time.Second),
		},
		Process: Process{
			ForwardSignals:  DefaultSignals(),
			Restart:         "never",
			RestartDelay:    Duration(time.Second),
			RestartMaxDelay: Duration(time.Minute),
			RestartReset:    Duration(5 * time.Minute),
			MaxRestarts:     10,
			RestartWindow:   Duration(10 * time.Minute),
		},
		Delivery: Delivery{
			Deadline:    Duration(10 * time.Second),
			FloodWindow: Duration(10 * time.Minute),
			MinBackoff:  Duration(250 * time.Millisecond),
			MaxBackoff:  Duration(5 * time.Second),
		},
		Log:     Log{Level: "info", Format: "auto"},
		sources: map[string]Source{},
	}
}

// DefaultSignals are the signals forwarded by default.
func DefaultSignals() []string {
	return []string{"SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGPWR"}
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

// SourceOf returns where the setting named key ("capture.tail_lines") got
// its value.
func (c *Config) SourceOf(key string) Source { return c.sources[key] }

func (c *Config) setSource(key string, s Source) {
	if c.sources == nil {
		c.sources = map[string]Source{}
	}
	c.sources[key] = s
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
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q: want a non-negative Go duration such as 10s, 500ms or 1m30s", b)
	}
	*d = Duration(v)
	return nil
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

// Validate checks values the types cannot: signal names, the DSN, URLs,
// levels and formats.
func (c *Config) Validate() error {
	check := func(key string, err error) error {
		if err == nil {
			return nil
		}
		return &Error{Source: c.sourceName(key), Key: key, Err: err}
	}
	for _, s := range c.Process.ForwardSignals {
		if _, err := ParseSignal(s); err != nil {
			return check("process.forward_signals", err)
		}
	}
	if c.Sentry.DSN != "" {
		if err := check("sentry.dsn", notify.ValidateSentryDSN(c.Sentry.DSN.Reveal())); err != nil {
			return err
		}
	}
	if (c.Slack.WebhookURL != "") && (c.Slack.Token != "") {
		return check("slack.token", errors.New("set either slack.webhook_url or slack.token with slack.channel, not both"))
	}
	if c.Slack.WebhookURL != "" {
		if err := check("slack.webhook_url", validateURL(c.Slack.WebhookURL.Reveal())); err != nil {
			return err
		}
	}
	if c.Slack.Token != "" && c.Slack.Channel == "" {
		return check("slack.channel", errors.New("missing: a Slack token needs a channel (an id such as C0123456789 or a name)"))
	}
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("webhook[%d].url", i)
		if w.URL == "" {
			return check(key, errors.New("missing: each [[webhook]] needs url or url_file"))
		}
		if err := check(key, validateURL(w.URL.Reveal())); err != nil {
			return err
		}
	}
	switch c.Process.Restart {
	case "never", "on-failure", "always":
	default:
		return check("process.restart", fmt.Errorf("invalid restart policy %q: want never, on-failure or always", c.Process.Restart))
	}
	if c.Process.MaxRestarts < 0 {
		return check("process.max_restarts", errors.New("must not be negative"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return check("log.level", fmt.Errorf("invalid level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		return check("log.format", fmt.Errorf("invalid format %q: want auto, json or text", c.Log.Format))
	}
	switch c.Capture.Gotraceback {
	case "", "none", "single", "all", "system", "crash", "wer", "0", "1", "2":
	default:
		return check("capture.gotraceback", fmt.Errorf("invalid GOTRACEBACK %q: want none, single, all, system or crash", c.Capture.Gotraceback))
	}
	if c.Capture.TailLines < 0 {
		return check("capture.tail_lines", errors.New("must not be negative"))
	}
	return nil
}

func (c *Config) sourceName(key string) string {
	switch c.sources[key] {
	case FromFlag:
		return "command line"
	case FromEnv:
		return "environment"
	case FromFile:
		return c.Path
	}
	return "default"
}

func validateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("invalid URL: want an absolute http:// or https:// URL")
	}
	return nil
}

// ParseSignal accepts "SIGTERM", "TERM" or "15".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n >= 65 {
			return 0, fmt.Errorf("invalid signal %q: numbers go from 1 to 64", s)
		}
		return unix.Signal(n), nil
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

// DefaultSpoolDir returns the spool directory of design.md: under systemd
// $STATE_DIRECTORY/prodwrap, else /var/lib/prodwrap when it is writable (or
// can be made), else $XDG_STATE_HOME/prodwrap (~/.local/state/prodwrap).
func DefaultSpoolDir(getenv func(string) string) string {
	if sd := getenv("STATE_DIRECTORY"); sd != "" {
		// systemd may list several, separated by colons.
		first, _, _ := strings.Cut(sd, ":")
		return filepath.Join(first, "prodwrap")
	}
	if writable("/var/lib/prodwrap") {
		return "/var/lib/prodwrap"
	}
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "prodwrap")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "prodwrap")
	}
	return filepath.Join(os.TempDir(), "prodwrap")
}

func writable(dir string) bool {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false
	}
	return unix.Access(dir, unix.W_OK) == nil
}
