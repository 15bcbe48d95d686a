package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/supervise"
)

// load runs config.Load with a file (when body is not "") and checks that
// a failure is one line.
func load(t *testing.T, body string, env, args []string) (*config.Config, error) {
	t.Helper()
	if body != "" {
		args = append([]string{"--config", writeFile(t, body)}, args...)
	}
	c, _, err := config.Load(config.Options{Args: append(args, "cmd"), Env: env, Name: "prodwrap"})
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	return c, err
}

// TestBounds: every number, size and duration has a range; a value outside
// it is an error naming the key and file:line, the variable or the flag,
// and the values at the ends of the range are accepted.
func TestBounds(t *testing.T) {
	tests := []struct {
		key, env, flag string
		low, high      string // out of range, as TOML values; "" when there is none below
		min, max       string // the ends, as TOML values
		other          string // another setting of the section that the ends need
	}{
		{"capture.tail_lines", "PRODWRAP_TAIL_LINES", "tail-lines", "0", "2147483648", "1", "10000", ""},
		{"capture.max_line", "PRODWRAP_MAX_LINE", "max-line", `"63"`, `"1025KiB"`, "64", `"1MiB"`, "tail_lines = 64"},
		{"capture.max_dump", "PRODWRAP_MAX_DUMP", "max-dump", `"1KiB"`, `"5GiB"`, `"64KiB"`, `"4GiB"`, ""},
		{"capture.memory_dump", "PRODWRAP_MEMORY_DUMP", "memory-dump", `"1KiB"`, `"257MiB"`, `"4KiB"`, `"256MiB"`, ""},
		{"capture.drain_timeout", "PRODWRAP_DRAIN_TIMEOUT", "drain-timeout", `"0s"`, `"2m"`, `"1ms"`, `"1m"`, ""},
		{"process.restart_delay", "PRODWRAP_RESTART_DELAY", "restart-delay", `"0s"`, `"25h"`, `"1ms"`, `"1m"`, ""},
		{"process.restart_max_delay", "PRODWRAP_RESTART_MAX_DELAY", "restart-max-delay", `"0s"`, `"25h"`, `"1s"`, `"24h"`, ""},
		{"process.restart_reset", "PRODWRAP_RESTART_RESET", "restart-reset", "", `"24h1s"`, `"0s"`, `"24h"`, ""},
		{"process.max_restarts", "PRODWRAP_MAX_RESTARTS", "max-restarts", "-1", "1000001", "0", "1000000", ""},
		{"process.restart_window", "PRODWRAP_RESTART_WINDOW", "restart-window", "", `"48h"`, `"0s"`, `"24h"`, ""},
		{"delivery.deadline", "PRODWRAP_DEADLINE", "deadline", `"1ms"`, `"2h"`, `"10ms"`, `"1h"`, ""},
		{"delivery.flood_window", "PRODWRAP_FLOOD_WINDOW", "flood-window", `"999ms"`, `"25h"`, `"1s"`, `"24h"`, ""},
		{"delivery.min_backoff", "PRODWRAP_MIN_BACKOFF", "", `"0s"`, `"2m"`, `"1ms"`, `"1m"`, `max_backoff = "1m"`},
		{"delivery.max_backoff", "PRODWRAP_MAX_BACKOFF", "", `"0s"`, `"11m"`, `"250ms"`, `"10m"`, ""},
	}
	for _, tt := range tests {
		sec, name, _ := strings.Cut(tt.key, ".")
		file := func(v string) string { return "[" + sec + "]\n# a comment\n" + name + " = " + v + "\n" }
		t.Run(tt.key, func(t *testing.T) {
			for _, v := range []string{tt.min, tt.max} {
				if _, err := load(t, file(v)+tt.other+"\n", nil, nil); err != nil {
					t.Errorf("%s = %s refused: %v", tt.key, v, err)
				}
			}
			for _, v := range []string{tt.low, tt.high} {
				if v == "" {
					continue
				}
				_, err := load(t, file(v), nil, nil)
				want := `prodwrap.toml:3:1: ` + regexp.QuoteMeta(tt.key) + `: (out of range|invalid)`
				if err == nil || !regexp.MustCompile(want).MatchString(err.Error()) {
					t.Errorf("%s = %s: got %v, want an error matching %q", tt.key, v, err, want)
				}
				text := strings.Trim(v, `"`)
				_, err = load(t, "", []string{tt.env + "=" + text}, nil)
				if want := "environment: " + tt.env + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("%s=%s: got %v, want an error starting %q", tt.env, text, err, want)
				}
				if tt.flag != "" {
					_, err = load(t, "", nil, []string{"--" + tt.flag, text})
					if want := "command line: --" + tt.flag + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
						t.Errorf("--%s %s: got %v, want an error starting %q", tt.flag, text, err, want)
					}
				}
			}
		})
	}
}

// TestBoundsBetweenSettings: settings that bound one another.
func TestBoundsBetweenSettings(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"tail memory", "[capture]\ntail_lines = 10000\nmax_line = \"1MiB\"\n", nil, `prodwrap.toml:2:1: capture.tail_lines: tail_lines × max_line is 10000MiB, more than the 64MiB`},
		{"tail memory from a flag", "[capture]\nmax_line = \"1MiB\"\n", []string{"--tail-lines", "100"}, `command line: --tail-lines: tail_lines × max_line`},
		{"restart delays", "[process]\nrestart_delay = \"2m\"\nrestart_max_delay = \"1m\"\n", nil, `prodwrap.toml:3:1: process.restart_max_delay: restart_delay \(2m\) is more than restart_max_delay \(1m\)`},
		{"backoffs", "[delivery]\nmin_backoff = \"10s\"\n", nil, `prodwrap.toml:2:1: delivery.min_backoff: min_backoff \(10s\) is more than max_backoff \(5s\)`},
		{"restart delay from a flag", "[process]\nrestart_max_delay = \"1m\"\n", []string{"--restart-delay", "2m"}, `^command line: --restart-delay: restart_delay \(2m\) is more than restart_max_delay \(1m\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, nil, tt.args)
			if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("got %v, want an error matching %q", err, tt.want)
			}
		})
	}
}

// TestForwardSignals: an explicit empty list forwards none, the default
// list is the absent key's, and a signal that can never be forwarded is an
// error naming the key and line.
func TestForwardSignals(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		env  []string
		args []string
		want []string
	}{
		{"absent", "[process]\nrestart = \"never\"\n", nil, nil, config.DefaultSignals()},
		{"empty in the file", "[process]\nforward_signals = []\n", nil, nil, []string{}},
		{"empty flag", "", nil, []string{"--forward-signals", ""}, []string{}},
		{"none in the environment", "", []string{"PRODWRAP_FORWARD_SIGNALS=none"}, nil, []string{}},
		{"some", "[process]\nforward_signals = [\"TERM\", \"10\"]\n", nil, nil, []string{"TERM", "10"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.file, tt.env, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if c.Process.ForwardSignals == nil {
				t.Error("ForwardSignals is nil, which the watcher reads as the default list")
			}
			if diff := cmp.Diff(tt.want, c.Process.ForwardSignals); diff != "" {
				t.Errorf("forward_signals mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, sig := range []string{"SIGKILL", "SIGSTOP", "SIGCHLD", "SIGURG", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGPIPE", "9", "chld"} {
		_, err := load(t, "[process]\nforward_signals = [\n  \"SIGTERM\",\n  \""+sig+"\",\n]\n", nil, nil)
		want := `^.*prodwrap.toml:2:1: process.forward_signals: SIG[A-Z]+ cannot be forwarded: `
		if err == nil || !regexp.MustCompile(want).MatchString(err.Error()) {
			t.Errorf("forward_signals = [%q]: got %v, want an error matching %q", sig, err, want)
		}
	}
	if _, err := load(t, "", []string{"PRODWRAP_FORWARD_SIGNALS=TERM,KILL"}, nil); err == nil || !strings.HasPrefix(err.Error(), "environment: PRODWRAP_FORWARD_SIGNALS: SIGKILL cannot be forwarded") {
		t.Errorf("KILL from the environment: %v", err)
	}
	if _, err := config.ParseForwardSignal("SIGURG"); err == nil {
		t.Error("ParseForwardSignal accepted SIGURG")
	}
	if sig, err := config.ParseForwardSignal("usr1"); err != nil || sig != syscall.SIGUSR1 {
		t.Errorf("ParseForwardSignal(usr1) = %v, %v", sig, err)
	}
}

// TestValueErrorsHaveLines: an invalid value, however it is found, is
// placed at its key's line.
func TestValueErrorsHaveLines(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"restart policy", "[service]\nname = \"api\"\n\n[process]\nrestart = \"sometimes\"\n", `prodwrap.toml:5:1: process.restart: invalid restart policy "sometimes": want never, on-failure or always`},
		{"bad signal", "[process]\n  forward_signals = [\"SIGNOPE\"]\n", `prodwrap.toml:2:3: process.forward_signals: unknown signal "SIGNOPE"`},
		{"log level", "[log]\nformat = \"json\"\nlevel = \"loud\"\n", `prodwrap.toml:3:1: log.level: invalid level "loud"`},
		{"gotraceback", "[capture]\ngotraceback = \"most\"\n", `prodwrap.toml:2:1: capture.gotraceback: invalid GOTRACEBACK "most"`},
		{"DSN", "[sentry]\nenvironment = \"x\"\ndsn = \"https://sentry.example.com/abc\"\n", `prodwrap.toml:3:1: sentry.dsn: invalid Sentry DSN`},
		{"slack", "[slack]\ntoken = \"xoxb-1\"\n", `prodwrap.toml:2:1: slack.channel: missing: a Slack token needs a channel`},
		{"sentry web_url", "[sentry]\nweb_url = \"acme.sentry.io\"\n", `prodwrap.toml:2:1: sentry.web_url: invalid URL "acme.sentry.io"`},
		{"sentry tags", "[sentry]\n\ntags = \"team\"\n", `prodwrap.toml:3:1: sentry.tags: invalid tag "team": want key=value`},
		{"sentry fingerprint", "[sentry]\nfingerprint = \"mine\"\n", `prodwrap.toml:2:1: sentry.fingerprint: invalid fingerprint "mine"`},
		{"scrub_env", "[process]\nscrub_env = [\"A=B\"]\n", `prodwrap.toml:2:1: process.scrub_env: invalid variable name "A=B"`},
		{"second webhook", "[[webhook]]\nurl = \"https://a.example.com/x\"\n\n[[webhook]]\nname = \"b\"\nurl = \"ftp://b\"\n", `prodwrap.toml:6:1: webhook\[1\].url: invalid URL`},
		{"webhook without url", "[[webhook]]\nurl = \"https://a.example.com/x\"\n[[webhook]]\nname = \"b\"\n", `prodwrap.toml:3: webhook\[1\].url: missing`},
		{"dotted key", "capture.tail_lines = 0\n", `prodwrap.toml:1:1: capture.tail_lines: out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, nil, nil)
			if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("got %v, want an error matching %q", err, tt.want)
			}
		})
	}
}

// TestTypes: every TOML value is checked against its setting's type.
func TestTypes(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"headers a string", "[[webhook]]\nurl = \"https://a.example.com/x\"\nheaders = \"x\"\n", `prodwrap.toml:3:1: webhook\[0\].headers: wrong type: the value is a string, want a table`},
		{"second webhook's headers", "[[webhook]]\nurl = \"https://a.example.com/x\"\n[[webhook]]\nurl = \"https://b.example.com/y\"\nheaders = 5\n", `prodwrap.toml:5:1: webhook\[1\].headers: wrong type: the value is an integer`},
		{"header value", "[[webhook]]\nurl = \"https://a.example.com/x\"\nheaders.Authorization = true\n", `prodwrap.toml:3:1: webhook\[0\].headers.Authorization: wrong type: the value is a boolean, want a string`},
		{"webhook name", "[[webhook]]\nname = 5\nurl = \"https://a.example.com/x\"\n", `prodwrap.toml:2:1: webhook\[0\].name: wrong type`},
		{"webhook a string", "webhook = \"https://a.example.com/x\"\n", `prodwrap.toml:1:1: webhook: wrong type: the value is a string, want an array of tables`},
		{"unknown webhook key", "[[webhook]]\nurl = \"https://a.example.com/x\"\nheader = {}\n", `prodwrap.toml:3: webhook.header: unknown key; did you mean webhook.headers\?`},
		{"section a string", "capture = \"big\"\n", `prodwrap.toml:1:1: capture: wrong type: the value is a string, want a table`},
		{"string an array", "[service]\nname = [\"a\"]\n", `prodwrap.toml:2:1: service.name: wrong type: the value is an array, want a string`},
		{"bool a string", "[process]\nprocess_group = \"yes\"\n", `prodwrap.toml:2:1: process.process_group: wrong type: the value is a string, want a boolean`},
		{"enabled auto", "[file]\nenabled = \"auto\"\n", `prodwrap.toml:2:1: file.enabled: wrong type`},
		{"int a float", "[capture]\ntail_lines = 1.5\n", `prodwrap.toml:2:1: capture.tail_lines: wrong type: the value is a float, want an integer`},
		{"size a float", "[capture]\nmax_dump = 1.5\n", `prodwrap.toml:2:1: capture.max_dump: wrong type`},
		{"duration a number", "[delivery]\ndeadline = 10\n", `prodwrap.toml:2:1: delivery.deadline: wrong type: the value is an integer, want a duration string`},
		{"signals a string", "[process]\nforward_signals = \"SIGTERM\"\n", `prodwrap.toml:2:1: process.forward_signals: wrong type: the value is a string, want an array`},
		{"signals of numbers", "[process]\nforward_signals = [15]\n", `prodwrap.toml:2:1: process.forward_signals: wrong type: the value is an integer`},
		{"a date", "[service]\nrelease = 2026-12-01\n", `prodwrap.toml:2:1: service.release: wrong type: the value is a date or time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, nil, nil)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("got %v, want an error matching %q", err, tt.want)
			}
		})
	}
	c, err := load(t, "[[webhook]]\nurl = \"https://a.example.com/x\"\nheaders = { Authorization = \"Bearer x\", \"X-Id\" = \"7\" }\n[capture]\nmax_dump = 1048576\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Webhooks) != 1 || c.Webhooks[0].Headers["X-Id"].Reveal() != "7" || c.Capture.MaxDump != 1<<20 {
		t.Errorf("webhooks %+v, max_dump %d", c.Webhooks, c.Capture.MaxDump)
	}
}

// TestSinkRulesAreNotify's: config refuses a sink with the sink's own
// errors, so that the two never disagree.
func TestSinkRulesAreNotifys(t *testing.T) {
	tests := []struct {
		name string
		file string
		want error
	}{
		{"webhook URL", "[[webhook]]\nurl = \"hooks.example.com/x\"\n", notify.ErrURL},
		{"webhook header", "[[webhook]]\nurl = \"https://a.example.com/x\"\nheaders = { \"X Bad\" = \"1\" }\n", notify.ErrHeader},
		{"slack both", "[slack]\nwebhook_url = \"https://hooks.slack.com/x\"\ntoken = \"xoxb-1\"\nchannel = \"C1\"\n", notify.ErrSlackBoth},
		{"slack channel", "[slack]\ntoken = \"xoxb-1\"\n", notify.ErrSlackChannel},
		{"slack webhook URL", "[slack]\nwebhook_url = \"hooks.slack.com/x\"\n", notify.ErrURL},
		{"slack API URL", "[slack]\ntoken = \"xoxb-1\"\nchannel = \"C1\"\napi_url = \"slack.local/api\"\n", notify.ErrURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, nil, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := load(t, "[slack]\ntoken = \"xoxb-1\"\nchannel = \"C1\"\napi_url = \"slack.local/api\"\n", nil, nil); err == nil || !strings.Contains(err.Error(), "slack.api_url") {
		t.Errorf("bad api_url: %v", err)
	}
}

// TestDefaultsComeFromTheLibraries: config's defaults are the libraries'
// exported ones, not second literals.
func TestDefaultsComeFromTheLibraries(t *testing.T) {
	d := config.Default()
	got := []time.Duration{time.Duration(d.Delivery.Deadline), time.Duration(d.Delivery.FloodWindow), time.Duration(d.Delivery.MinBackoff), time.Duration(d.Delivery.MaxBackoff), time.Duration(d.Capture.DrainTimeout)}
	want := []time.Duration{notify.DefaultDeadline, notify.DefaultFloodWindow, notify.DefaultMinBackoff, notify.DefaultMaxBackoff, supervise.DefaultWaitDelay}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivery and drain defaults (-libraries +config):\n%s", diff)
	}
	if d.Capture.TailLines != supervise.DefaultTailLines || int(d.Capture.MaxLine) != supervise.DefaultMaxLine ||
		int64(d.Capture.MaxDump) != supervise.DefaultMaxDump || int(d.Capture.MemoryDump) != supervise.DefaultMemoryDump {
		t.Errorf("capture defaults %+v differ from supervise's", d.Capture)
	}
	if len(supervise.DefaultSignals) != len(config.DefaultSignals()) {
		t.Errorf("DefaultSignals has %d signals, supervise %d", len(config.DefaultSignals()), len(supervise.DefaultSignals))
	}
	for i, name := range config.DefaultSignals() {
		sig, err := config.ParseForwardSignal(name)
		if err != nil || sig != supervise.DefaultSignals[i] {
			t.Errorf("DefaultSignals()[%d] = %q (%v), supervise has %v", i, name, err, supervise.DefaultSignals[i])
		}
	}
}

// TestEnvironmentErrorsNameTheVariable: an error in a value from the
// environment names the variable, one read through a file names its key.
func TestEnvironmentErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "dsn")
	os.WriteFile(bad, []byte("https://sentry.example.com/abc\n"), 0o600)
	tests := []struct {
		name string
		file string
		env  []string
		want string
	}{
		{"DSN", "", []string{"SENTRY_DSN=https://sentry.example.com/abc"}, `^environment: SENTRY_DSN: invalid Sentry DSN`},
		{"restart", "", []string{"PRODWRAP_RESTART=sometimes"}, `^environment: PRODWRAP_RESTART: invalid restart policy "sometimes"`},
		{"token without channel", "", []string{"PRODWRAP_SLACK_TOKEN=xoxb-1"}, `^environment: PRODWRAP_SLACK_TOKEN: missing: a Slack token needs a channel`},
		{"dsn_file", "[sentry]\ndsn_file = \"" + bad + "\"\n", nil, `prodwrap.toml:2:1: sentry.dsn_file: invalid Sentry DSN`},
		{"dsn file from the environment", "", []string{"PRODWRAP_SENTRY_DSN_FILE=" + bad}, `^environment: PRODWRAP_SENTRY_DSN_FILE: invalid Sentry DSN`},
		{"webhook", "", []string{"PRODWRAP_WEBHOOK_URL=ftp://x"}, `^environment: PRODWRAP_WEBHOOK_URL: invalid URL`},
		{"level", "", []string{"PRODWRAP_LOG_LEVEL=loud"}, `^environment: PRODWRAP_LOG_LEVEL: invalid level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, tt.env, nil)
			if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("got %v, want an error matching %q", err, tt.want)
			}
		})
	}
}
