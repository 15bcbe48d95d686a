package config_test

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/config"
)

// TestLenientLoadFailsOpen: with Options.Lenient a bad file, value or
// secret still gives a configuration — the valid part, the defaults for the
// rest, the file sink on — and every problem, one line each.
func TestLenientLoadFailsOpen(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dsn")
	tests := []struct {
		name  string
		file  string
		env   []string
		check func(t *testing.T, c *config.Config)
		want  []string // regexps, one per problem, in order
	}{
		{"file does not parse", "[service\nname = \"x\"\n", []string{"PRODWRAP_SERVICE=api"},
			func(t *testing.T, c *config.Config) {
				if c.Service.Name != "api" {
					t.Errorf("service.name = %q, want the environment's api", c.Service.Name)
				}
			}, []string{`prodwrap.toml:\d+:\d+: `}},
		{"typo beside a valid key", "[service]\nnmae = \"x\"\nenvironment = \"prod\"\n", nil,
			func(t *testing.T, c *config.Config) {
				if c.Service.Environment != "prod" {
					t.Errorf("service.environment = %q, want prod", c.Service.Environment)
				}
			}, []string{`prodwrap.toml:2: service.nmae: unknown key; did you mean service.name\?`}},
		{"out of range and wrong type", "[capture]\ntail_lines = 2147483648\nmax_dump = 1.5\nmax_line = \"8KiB\"\n", nil,
			func(t *testing.T, c *config.Config) {
				if c.Capture.TailLines != config.Default().Capture.TailLines || c.Capture.MaxDump != config.Default().Capture.MaxDump || c.Capture.MaxLine != 8<<10 {
					t.Errorf("capture = %+v, want the defaults but max_line 8KiB", c.Capture)
				}
				if c.SourceOf("capture.tail_lines") != config.FromDefault {
					t.Errorf("tail_lines source %v, want default", c.SourceOf("capture.tail_lines"))
				}
			}, []string{`prodwrap.toml:3:1: capture.max_dump: wrong type`, `prodwrap.toml:2:1: capture.tail_lines: out of range`}},
		{"bad DSN", "[sentry]\ndsn = \"https://sentry.example.com/abc\"\n", nil,
			func(t *testing.T, c *config.Config) {
				if c.Sentry.DSN != "" {
					t.Error("the bad DSN was kept")
				}
			}, []string{`prodwrap.toml:2:1: sentry.dsn: invalid Sentry DSN`}},
		{"unreadable dsn_file", "[sentry]\ndsn_file = \"" + missing + "\"\n", nil, nil,
			[]string{`prodwrap.toml:2:1: sentry.dsn_file: cannot read secret file`}},
		{"one bad webhook of three", "[[webhook]]\nname = \"a\"\nurl = \"https://a.example.com/x\"\n[[webhook]]\nname = \"b\"\nurl = \"ftp://b\"\n[[webhook]]\nname = \"c\"\nurl = \"https://c.example.com/x\"\nheaders.X-Id = \"***\"\n[[webhook]]\nname = \"d\"\nurl = \"https://d.example.com/x\"\n", nil,
			func(t *testing.T, c *config.Config) {
				var names []string
				for _, w := range c.Webhooks {
					names = append(names, w.Name)
				}
				if strings.Join(names, ",") != "a,d" {
					t.Errorf("webhooks %q, want a,d", names)
				}
				if c.SourceOf("webhook[1].url") != config.FromFile {
					t.Errorf("webhook[1].url source %v, want file", c.SourceOf("webhook[1].url"))
				}
			}, []string{`prodwrap.toml:10:1: webhook\[2\].headers.X-Id: the value is "\*\*\*"`, `prodwrap.toml:6:1: webhook\[1\].url: invalid URL`}},
		{"environment", "", []string{"PRODWRAP_TAIL_LINES=ten", "PRODWRAP_LOG_LEVEL=loud", "PRODWRAP_SLACK_TOKEN=xoxb-1"},
			func(t *testing.T, c *config.Config) {
				if c.Capture.TailLines != 100 || c.Log.Level != "info" || c.Slack.Token != "" {
					t.Errorf("tail_lines %d, level %q, slack token set %v", c.Capture.TailLines, c.Log.Level, c.Slack.Token != "")
				}
			}, []string{`^environment: PRODWRAP_TAIL_LINES: invalid number "ten"`, `^environment: PRODWRAP_LOG_LEVEL: invalid level "loud"`, `^environment: PRODWRAP_SLACK_TOKEN: missing: a Slack token needs a channel`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"cmd"}
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			c, rest, err := config.Load(config.Options{Args: args, Env: tt.env, Lenient: true})
			if c == nil {
				t.Fatalf("no configuration: %v", err)
			}
			if len(rest) != 1 || rest[0] != "cmd" {
				t.Errorf("command %q", rest)
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce != errs[0] {
				t.Errorf("errors.As does not find the first *Error in %v", err)
			}
			if len(errs) != len(tt.want) {
				t.Errorf("%d problems, want %d: %v", len(errs), len(tt.want), errs.Unwrap())
			}
			for i, e := range errs {
				if i < len(tt.want) && !regexp.MustCompile(tt.want[i]).MatchString(e.Error()) {
					t.Errorf("problem %d: %q does not match %q", i, e, tt.want[i])
				}
				if strings.Contains(e.Error(), "\n") {
					t.Errorf("problem %d is not one line: %q", i, e)
				}
			}
			if c.File.Enabled == nil || !*c.File.Enabled {
				t.Error("the file sink is not on")
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("the configuration returned does not validate: %v", err)
			}
		})
	}
}

// TestLenientLoadStaysStrict: a bad flag, and any error when the
// configuration says strict, give no configuration; a good configuration
// gives no error and leaves the file sink alone.
func TestLenientLoadStaysStrict(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		env  []string
		args []string
		want string
	}{
		{"bad flag", "", nil, []string{"--no-such-flag"}, `^command line: --no-such-flag: unknown flag`},
		{"bad flag value", "", nil, []string{"--tail-lines", "many"}, `^command line: --tail-lines: invalid number "many"`},
		{"strict in the file", "strict = true\n[capture]\ntail_lines = 0\n", nil, nil, `prodwrap.toml:3:1: capture.tail_lines: out of range`},
		{"PRODWRAP_STRICT", "[capture]\ntail_lines = 0\n", []string{"PRODWRAP_STRICT=1"}, nil, `prodwrap.toml:2:1: capture.tail_lines: out of range`},
		{"--strict", "", []string{"SENTRY_DSN=x"}, []string{"--strict"}, `^environment: SENTRY_DSN: invalid Sentry DSN`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "cmd")
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			c, _, err := config.Load(config.Options{Args: args, Env: tt.env, Lenient: true})
			if c != nil || err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("got %v, %v; want no configuration and an error matching %q", c, err, tt.want)
			}
		})
	}
	c, _, err := config.Load(config.Options{Args: []string{"--config", writeFile(t, "strict = true\n[service]\nname = \"api\"\n"), "cmd"}, Lenient: true})
	if err != nil || c.File.Enabled != nil || !c.Strict || c.Service.Name != "api" {
		t.Errorf("a good configuration: %v, file sink %v, strict %v", err, c.File.Enabled, c.Strict)
	}
}
