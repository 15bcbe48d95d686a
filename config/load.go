package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// DefaultPath is the configuration file read when neither --config nor
// $PRODWRAP_CONFIG names one, if it exists.
const DefaultPath = "/etc/prodwrap/prodwrap.toml"

// setting is one scalar setting with its names in every source.
type setting struct {
	key    string // TOML: "section.name"
	env    string // environment variable, "" for none
	flag   string // command-line flag, "" for none
	isBool bool
	usage  string
	set    func(c *Config, v string) error
	get    func(c *Config) string
}

func str(p func(c *Config) *string) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { *p(c) = v; return nil }, func(c *Config) string { return *p(c) }
}

func boolean(p func(c *Config) *bool) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			*p(c) = b
			return nil
		}, func(c *Config) string {
			return strconv.FormatBool(*p(c))
		}
}

func textual(p func(c *Config) textValue) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error { return p(c).UnmarshalText([]byte(v)) },
		func(c *Config) string { b, _ := p(c).MarshalText(); return string(b) }
}

func integer(p func(c *Config) *int) (func(*Config, string) error, func(*Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("invalid number %q: want a whole number", v)
			}
			*p(c) = n
			return nil
		}, func(c *Config) string {
			return strconv.Itoa(*p(c))
		}
}

type textValue interface {
	UnmarshalText([]byte) error
	MarshalText() ([]byte, error)
}

func mkStr(key, env, fl, usage string, p func(c *Config) *string) setting {
	s, g := str(p)
	return setting{key: key, env: env, flag: fl, usage: usage, set: s, get: g}
}

func mkInt(key, env, fl, usage string, p func(c *Config) *int) setting {
	s, g := integer(p)
	return setting{key: key, env: env, flag: fl, usage: usage, set: s, get: g}
}

func mkText(key, env, fl, usage string, p func(c *Config) textValue) setting {
	s, g := textual(p)
	return setting{key: key, env: env, flag: fl, usage: usage, set: s, get: g}
}

// settings lists every scalar setting. The [[webhook]] list is the file's
// (and PRODWRAP_WEBHOOK_URL's for a single one).
var settings = []setting{
	mkStr("service.name", "PRODWRAP_SERVICE", "service", "service `name` in reports (default: the command's base name)", func(c *Config) *string { return &c.Service.Name }),
	mkStr("service.environment", "PRODWRAP_ENVIRONMENT", "environment", "deployment `environment` (production, staging...)", func(c *Config) *string { return &c.Service.Environment }),
	mkStr("service.release", "PRODWRAP_RELEASE", "release", "`release` name (default: module@version or VCS revision of the binary)", func(c *Config) *string { return &c.Service.Release }),
	mkInt("capture.tail_lines", "PRODWRAP_TAIL_LINES", "tail-lines", "log `lines` kept before the dump", func(c *Config) *int { return &c.Capture.TailLines }),
	mkText("capture.max_line", "PRODWRAP_MAX_LINE", "max-line", "`size` kept of each log line", func(c *Config) textValue { return &c.Capture.MaxLine }),
	mkText("capture.max_dump", "PRODWRAP_MAX_DUMP", "max-dump", "`size` kept of a crash dump", func(c *Config) textValue { return &c.Capture.MaxDump }),
	mkText("capture.memory_dump", "PRODWRAP_MEMORY_DUMP", "memory-dump", "`size` of the dump held in memory before spilling to the spool", func(c *Config) textValue { return &c.Capture.MemoryDump }),
	mkText("capture.drain_timeout", "PRODWRAP_DRAIN_TIMEOUT", "drain-timeout", "how long to read stderr after the child exited (`duration`)", func(c *Config) textValue { return &c.Capture.DrainTimeout }),
	mkStr("capture.gotraceback", "PRODWRAP_GOTRACEBACK", "gotraceback", "GOTRACEBACK `value` for the child when it has none (e.g. all)", func(c *Config) *string { return &c.Capture.Gotraceback }),
	{key: "process.forward_signals", env: "PRODWRAP_FORWARD_SIGNALS", flag: "forward-signals", usage: "comma-separated `signals` forwarded to the child",
		set: func(c *Config, v string) error {
			var out []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			c.Process.ForwardSignals = out
			return nil
		},
		get: func(c *Config) string { return strings.Join(c.Process.ForwardSignals, ",") }},
	mkBool("process.process_group", "PRODWRAP_PROCESS_GROUP", "process-group", "forward signals to the child's whole process group (tini -g)", func(c *Config) *bool { return &c.Process.ProcessGroup }),
	mkBool("process.subreaper", "PRODWRAP_SUBREAPER", "subreaper", "become a child subreaper and reap orphaned descendants", func(c *Config) *bool { return &c.Process.Subreaper }),
	mkBool("process.pass_secrets", "PRODWRAP_PASS_SECRETS", "pass-secrets", "keep SENTRY_DSN and prodwrap's secret variables in the child's environment", func(c *Config) *bool { return &c.Process.PassSecrets }),
	mkStr("process.restart", "PRODWRAP_RESTART", "restart", "restart `policy`: never, on-failure or always", func(c *Config) *string { return &c.Process.Restart }),
	mkText("process.restart_delay", "PRODWRAP_RESTART_DELAY", "restart-delay", "first wait before a restart (`duration`), doubling up to restart_max_delay", func(c *Config) textValue { return &c.Process.RestartDelay }),
	mkText("process.restart_max_delay", "PRODWRAP_RESTART_MAX_DELAY", "restart-max-delay", "longest wait before a restart (`duration`)", func(c *Config) textValue { return &c.Process.RestartMaxDelay }),
	mkText("process.restart_reset", "PRODWRAP_RESTART_RESET", "restart-reset", "uptime after which the restart delay starts over (`duration`)", func(c *Config) textValue { return &c.Process.RestartReset }),
	mkInt("process.max_restarts", "PRODWRAP_MAX_RESTARTS", "max-restarts", "restarts allowed within restart_window before giving up (`count`, 0: no cap)", func(c *Config) *int { return &c.Process.MaxRestarts }),
	mkText("process.restart_window", "PRODWRAP_RESTART_WINDOW", "restart-window", "window of max_restarts (`duration`)", func(c *Config) textValue { return &c.Process.RestartWindow }),
	mkStr("spool.dir", "PRODWRAP_SPOOL", "spool", "spool `directory` (reports wait here until delivered)", func(c *Config) *string { return &c.Spool.Dir }),
	{key: "file.enabled", env: "PRODWRAP_FILE", flag: "file", isBool: true, usage: "keep each report as a JSON file (default: on when no other sink is configured)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			c.File.Enabled = &b
			return nil
		},
		get: func(c *Config) string {
			if c.File.Enabled == nil {
				return "auto"
			}
			return strconv.FormatBool(*c.File.Enabled)
		}},
	mkStr("file.dir", "PRODWRAP_REPORT_DIR", "report-dir", "`directory` of the file sink (default: <spool>/reports)", func(c *Config) *string { return &c.File.Dir }),
	{key: "sentry.dsn", env: "SENTRY_DSN",
		set: func(c *Config, v string) error { c.Sentry.DSN = Secret(v); return nil },
		get: func(c *Config) string { return c.Sentry.DSN.String() }},
	mkStr("sentry.dsn_file", "PRODWRAP_SENTRY_DSN_FILE", "sentry-dsn-file", "`file` holding the Sentry DSN", func(c *Config) *string { return &c.Sentry.DSNFile }),
	mkStr("sentry.environment", "SENTRY_ENVIRONMENT", "", "", func(c *Config) *string { return &c.Sentry.Environment }),
	mkStr("sentry.release", "SENTRY_RELEASE", "", "", func(c *Config) *string { return &c.Sentry.Release }),
	{key: "slack.webhook_url", env: "PRODWRAP_SLACK_WEBHOOK_URL",
		set: func(c *Config, v string) error { c.Slack.WebhookURL = Secret(v); return nil },
		get: func(c *Config) string { return c.Slack.WebhookURL.String() }},
	mkStr("slack.webhook_url_file", "PRODWRAP_SLACK_WEBHOOK_URL_FILE", "slack-webhook-file", "`file` holding the Slack incoming-webhook URL", func(c *Config) *string { return &c.Slack.WebhookURLFile }),
	{key: "slack.token", env: "PRODWRAP_SLACK_TOKEN",
		set: func(c *Config, v string) error { c.Slack.Token = Secret(v); return nil },
		get: func(c *Config) string { return c.Slack.Token.String() }},
	mkStr("slack.token_file", "PRODWRAP_SLACK_TOKEN_FILE", "slack-token-file", "`file` holding the Slack bot token", func(c *Config) *string { return &c.Slack.TokenFile }),
	mkStr("slack.channel", "PRODWRAP_SLACK_CHANNEL", "slack-channel", "Slack `channel` for the bot token", func(c *Config) *string { return &c.Slack.Channel }),
	mkStr("slack.api_url", "PRODWRAP_SLACK_API_URL", "", "", func(c *Config) *string { return &c.Slack.APIURL }),
	mkText("delivery.deadline", "PRODWRAP_DEADLINE", "deadline", "bound on delivery after a crash (`duration`)", func(c *Config) textValue { return &c.Delivery.Deadline }),
	mkText("delivery.flood_window", "PRODWRAP_FLOOD_WINDOW", "flood-window", "Slack gets one message per fingerprint in this `duration`, then a summary", func(c *Config) textValue { return &c.Delivery.FloodWindow }),
	mkText("delivery.min_backoff", "PRODWRAP_MIN_BACKOFF", "", "", func(c *Config) textValue { return &c.Delivery.MinBackoff }),
	mkText("delivery.max_backoff", "PRODWRAP_MAX_BACKOFF", "", "", func(c *Config) textValue { return &c.Delivery.MaxBackoff }),
	mkStr("metrics.listen", "PRODWRAP_METRICS_LISTEN", "metrics-listen", "serve Prometheus /metrics on this `address` (e.g. 127.0.0.1:9464)", func(c *Config) *string { return &c.Metrics.Listen }),
	mkStr("metrics.textfile", "PRODWRAP_METRICS_TEXTFILE", "metrics-textfile", "write the metrics to this .prom `file` after each run (node_exporter textfile collector)", func(c *Config) *string { return &c.Metrics.Textfile }),
	mkStr("log.level", "PRODWRAP_LOG_LEVEL", "log-level", "prodwrap's own log `level`: debug, info, warn, error", func(c *Config) *string { return &c.Log.Level }),
	mkStr("log.format", "PRODWRAP_LOG_FORMAT", "log-format", "prodwrap's own log `format`: auto (JSON unless stderr is a terminal), json, text", func(c *Config) *string { return &c.Log.Format }),
}

func mkBool(key, env, fl, usage string, p func(c *Config) *bool) setting {
	s, g := boolean(p)
	return setting{key: key, env: env, flag: fl, isBool: true, usage: usage, set: s, get: g}
}

// Keys lists every setting's TOML key, with "webhook.*" keys for the list.
func Keys() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.key)
	}
	return append(out, "webhook.name", "webhook.url", "webhook.url_file", "webhook.headers")
}

// Options say where Load reads from.
type Options struct {
	// Args are prodwrap's arguments: flags, then the command.
	Args []string
	// Env is the environment as os.Environ gives it.
	Env []string
	// Name is the flag set's name in usage messages ("prodwrap").
	Name string
	// Output receives usage and flag errors; nil means io.Discard.
	Output io.Writer
	// NoCommand rejects arguments after the flags (sub-commands that take none).
	NoCommand bool
}

// ErrHelp is returned by Load when -h or --help was asked for; usage has
// been printed.
var ErrHelp = flag.ErrHelp

// Load reads the configuration and returns it with the arguments left
// after prodwrap's flags (the command and its arguments).
func Load(o Options) (*Config, []string, error) {
	env := envMap(o.Env)
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	fs := flag.NewFlagSet(o.Name, flag.ContinueOnError)
	fs.SetOutput(out)
	configPath := fs.String("config", "", "configuration `file` (default: $PRODWRAP_CONFIG, else "+DefaultPath+" if present)")
	flagVals := map[string]*flagValue{}
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		v := &flagValue{isBool: s.isBool}
		flagVals[s.flag] = v
		fs.Var(v, s.flag, s.usage)
		if s.flag == "process-group" {
			fs.Var(v, "g", "short for --process-group")
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: %s [flags] [--] COMMAND [ARGS...]\n\nflags:\n", o.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(o.Args); err != nil {
		return nil, nil, err
	}
	rest := fs.Args()
	if o.NoCommand && len(rest) > 0 {
		return nil, nil, &Error{Source: "command line", Err: fmt.Errorf("unexpected argument %q", rest[0])}
	}

	c := Default()
	path := *configPath
	if path == "" {
		path = env["PRODWRAP_CONFIG"]
	}
	if path == "" {
		if _, err := os.Stat(DefaultPath); err == nil {
			path = DefaultPath
		}
	}
	if path != "" {
		if err := c.decodeFile(path); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range settings {
		if s.env == "" {
			continue
		}
		if v, ok := env[s.env]; ok && v != "" {
			if err := s.set(c, v); err != nil {
				return nil, nil, &Error{Source: "environment", Key: s.env, Err: err}
			}
			c.setSource(s.key, FromEnv)
		}
	}
	if u := env["PRODWRAP_WEBHOOK_URL"]; u != "" {
		c.Webhooks = append(c.Webhooks, Webhook{Name: "env", URL: Secret(u)})
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		if ferr != nil || f.Name == "config" {
			return
		}
		name := f.Name
		if name == "g" {
			name = "process-group"
		}
		for _, s := range settings {
			if s.flag == name {
				if err := s.set(c, flagVals[name].v); err != nil {
					ferr = &Error{Source: "command line", Key: "--" + f.Name, Err: err}
					return
				}
				c.setSource(s.key, FromFlag)
			}
		}
	})
	if ferr != nil {
		return nil, nil, ferr
	}
	if err := c.resolveSecrets(env); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return c, rest, nil
}

// flagValue holds a flag's text until the sources are merged.
type flagValue struct {
	v      string
	isBool bool
}

func (f *flagValue) String() string     { return f.v }
func (f *flagValue) Set(s string) error { f.v = s; return nil }
func (f *flagValue) IsBoolFlag() bool   { return f.isBool }

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// decodeFile reads the TOML file at path into c, strictly.
func (c *Config) decodeFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{Source: path, Err: fmt.Errorf("cannot read the configuration: %w", err)}
	}
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &Error{Source: path, Line: pe.Position.Line, Col: pe.Position.Col, Key: pe.LastKey, Err: errors.New(pe.Message)}
		}
		// BurntSushi/toml reports a type mismatch as a plain error whose
		// text is the only carrier of the line and key; take them from it.
		if m := tomlTypeErr().FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{Source: path, Line: line, Col: keyCol(data, line), Key: m[2], Err: errors.New(m[3])}
		}
		return &Error{Source: path, Err: err}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return &Error{Source: path, Line: keyLine(data, k), Key: k.String(),
			Err: fmt.Errorf("unknown key (known keys: see config.example.toml or prodwrap check-config)")}
	}
	c.Path = path
	for _, k := range md.Keys() {
		c.setSource(k.String(), FromFile)
	}
	return nil
}

var tomlTypeErr = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
})

// keyCol is the column of the first non-blank byte of line (1-based).
func keyCol(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " \t")) + 1
}

// keyLine finds the line that defines key in a TOML file: the key's last
// part at the start of a line, inside the table of its other parts.
func keyLine(data []byte, k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table := strings.Join(k[:len(k)-1], ".")
	name := k[len(k)-1]
	cur := ""
	for i, line := range bytes.Split(data, []byte("\n")) {
		t := strings.TrimSpace(string(line))
		if strings.HasPrefix(t, "[") {
			cur = strings.Trim(t, "[] ")
			if cur == strings.Join(k, ".") {
				return i + 1 // an unknown table
			}
			continue
		}
		if cur != table && !(table == "" && cur == "") {
			continue
		}
		if before, _, ok := strings.Cut(t, "="); ok && strings.Trim(strings.TrimSpace(before), `"`) == name {
			return i + 1
		}
	}
	return 0
}

// resolveSecrets fills secrets from *_file keys and systemd credentials.
func (c *Config) resolveSecrets(env map[string]string) error {
	creds := env["CREDENTIALS_DIRECTORY"]
	if c.Sentry.DSN == "" && c.Sentry.DSNFile != "" {
		v, err := readSecret(c.Sentry.DSNFile)
		if err != nil {
			return &Error{Source: c.sourceName("sentry.dsn_file"), Key: "sentry.dsn_file", Err: err}
		}
		c.Sentry.DSN = Secret(v)
	}
	if c.Sentry.DSN == "" && creds != "" {
		if v, err := readSecret(filepath.Join(creds, "sentry-dsn")); err == nil {
			c.Sentry.DSN = Secret(v)
			c.setSource("sentry.dsn", FromEnv)
		}
	}
	if c.Slack.WebhookURL == "" && c.Slack.WebhookURLFile != "" {
		v, err := readSecret(c.Slack.WebhookURLFile)
		if err != nil {
			return &Error{Source: c.sourceName("slack.webhook_url_file"), Key: "slack.webhook_url_file", Err: err}
		}
		c.Slack.WebhookURL = Secret(v)
	}
	if c.Slack.Token == "" && c.Slack.TokenFile != "" {
		v, err := readSecret(c.Slack.TokenFile)
		if err != nil {
			return &Error{Source: c.sourceName("slack.token_file"), Key: "slack.token_file", Err: err}
		}
		c.Slack.Token = Secret(v)
	}
	if c.Slack.Token == "" && c.Slack.WebhookURL == "" && creds != "" {
		if v, err := readSecret(filepath.Join(creds, "slack-token")); err == nil {
			c.Slack.Token = Secret(v)
		} else if v, err := readSecret(filepath.Join(creds, "slack-webhook-url")); err == nil {
			c.Slack.WebhookURL = Secret(v)
		}
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if w.URL == "" && w.URLFile != "" {
			v, err := readSecret(w.URLFile)
			if err != nil {
				return &Error{Source: c.Path, Key: fmt.Sprintf("webhook[%d].url_file", i), Err: err}
			}
			w.URL = Secret(v)
		}
	}
	if len(c.Webhooks) == 0 && creds != "" {
		if v, err := readSecret(filepath.Join(creds, "webhook-url")); err == nil {
			c.Webhooks = append(c.Webhooks, Webhook{Name: "credential", URL: Secret(v)})
		}
	}
	return nil
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}

// secretEnv are the variables ChildEnv removes.
var secretEnv = []string{"SENTRY_DSN", "PRODWRAP_WEBHOOK_URL", "PRODWRAP_SENTRY_DSN_FILE", "PRODWRAP_SLACK_WEBHOOK_URL", "PRODWRAP_SLACK_TOKEN"}

// ChildEnv returns the child's environment: env without prodwrap's secret
// variables (unless Process.PassSecrets), and with GOTRACEBACK set when
// Capture.Gotraceback says so and env has none.
func (c *Config) ChildEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	hasTraceback := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !c.Process.PassSecrets && isSecretEnv(k) {
			continue
		}
		if k == "GOTRACEBACK" {
			hasTraceback = true
		}
		out = append(out, kv)
	}
	if c.Capture.Gotraceback != "" && !hasTraceback {
		out = append(out, "GOTRACEBACK="+c.Capture.Gotraceback)
	}
	return out
}

func isSecretEnv(k string) bool {
	for _, s := range secretEnv {
		if k == s {
			return true
		}
	}
	return strings.HasPrefix(k, "PRODWRAP_") && (strings.Contains(k, "TOKEN") || strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD"))
}

// WriteTOML writes the effective configuration as TOML, each value with
// its source as a comment, secrets masked.
func (c *Config) WriteTOML(w io.Writer) error {
	var b strings.Builder
	if c.Path != "" {
		fmt.Fprintf(&b, "# configuration file: %s\n", c.Path)
	}
	section := ""
	for _, s := range settings {
		sec, name, _ := strings.Cut(s.key, ".")
		if sec != section {
			fmt.Fprintf(&b, "\n[%s]\n", sec)
			section = sec
		}
		fmt.Fprintf(&b, "%s = %s # %s\n", name, tomlValue(s, c), c.SourceOf(s.key))
	}
	ws := append([]Webhook(nil), c.Webhooks...)
	for _, wh := range ws {
		fmt.Fprintf(&b, "\n[[webhook]]\nname = %q\nurl = %q\n", wh.Name, wh.URL.String())
		keys := make([]string, 0, len(wh.Headers))
		for k := range wh.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "headers.%s = %q\n", k, wh.Headers[k].String())
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tomlValue(s setting, c *Config) string {
	v := s.get(c)
	switch {
	case s.key == "process.forward_signals":
		parts := strings.Split(v, ",")
		for i, p := range parts {
			parts[i] = strconv.Quote(p)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case s.key == "capture.tail_lines", s.key == "process.max_restarts", s.isBool && v != "auto":
		return v
	}
	return strconv.Quote(v)
}

// FlagUsage writes the run command's flags.
func FlagUsage(w io.Writer) {
	fs := flag.NewFlagSet("prodwrap", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.String("config", "", "configuration `file` (default: $PRODWRAP_CONFIG, else "+DefaultPath+" if present)")
	for _, s := range settings {
		if s.flag != "" {
			fs.Var(&flagValue{isBool: s.isBool}, s.flag, s.usage)
		}
	}
	fs.PrintDefaults()
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
