package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prodwrap/prodwrap/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prodwrap.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "[service]\nname = \"from-file\"\nenvironment = \"file-env\"\nrelease = \"file-rel\"\n")
	tests := []struct {
		name       string
		args       []string
		env        []string
		want       string
		wantSource config.Source
	}{
		{"default", nil, nil, "", config.FromDefault},
		{"file", []string{"--config", file}, nil, "from-file", config.FromFile},
		{"env beats file", []string{"--config", file}, []string{"PRODWRAP_SERVICE=from-env"}, "from-env", config.FromEnv},
		{"flag beats env", []string{"--config", file, "--service", "from-flag"}, []string{"PRODWRAP_SERVICE=from-env"}, "from-flag", config.FromFlag},
		{"PRODWRAP_CONFIG names the file", nil, []string{"PRODWRAP_CONFIG=" + file}, "from-file", config.FromFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rest, err := config.Load(config.Options{Args: append(tt.args, "--", "/bin/true", "x"), Env: tt.env, Name: "prodwrap"})
			if err != nil {
				t.Fatal(err)
			}
			if c.Service.Name != tt.want || c.SourceOf("service.name") != tt.wantSource {
				t.Errorf("service.name = %q from %v, want %q from %v", c.Service.Name, c.SourceOf("service.name"), tt.want, tt.wantSource)
			}
			if diff := cmp.Diff([]string{"/bin/true", "x"}, rest); diff != "" {
				t.Errorf("command mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlagsStopAtTheCommand(t *testing.T) {
	c, rest, err := config.Load(config.Options{Args: []string{"-g", "/srv/api", "--port", "8080"}, Name: "prodwrap"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Process.ProcessGroup {
		t.Error("-g did not set process_group")
	}
	if diff := cmp.Diff([]string{"/srv/api", "--port", "8080"}, rest); diff != "" {
		t.Errorf("command mismatch (-want +got):\n%s", diff)
	}
}

// TestCommandWithoutFlags: a command line that begins with no flag (Load
// then defines --config alone, not every setting's flag) gives the command
// as the flag package would, flags after the command included, and the
// configuration a line with a flag set to its default gives.
func TestCommandWithoutFlags(t *testing.T) {
	base, _, err := config.Load(config.Options{Args: []string{"--strict=false", "--", "/bin/true"}, Name: "prodwrap"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args, want []string
	}{
		{[]string{"--", "/srv/api", "-g"}, []string{"/srv/api", "-g"}},
		{[]string{"/srv/api", "--port", "8080"}, []string{"/srv/api", "--port", "8080"}},
		{[]string{"-", "x"}, []string{"-", "x"}},
		{[]string{"--", "--", "x"}, []string{"--", "x"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		c, rest, err := config.Load(config.Options{Args: tt.args, Name: "prodwrap"})
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if diff := cmp.Diff(tt.want, rest, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: command mismatch (-want +got):\n%s", tt.args, diff)
		}
		if c.Process.ProcessGroup || c.Strict != base.Strict || !slices.Equal(c.Process.ForwardSignals, base.Process.ForwardSignals) {
			t.Errorf("%q: process %+v strict %v, want %+v strict %v", tt.args, c.Process, c.Strict, base.Process, base.Strict)
		}
	}
	if _, _, err := config.Load(config.Options{Args: []string{"--no-such-flag", "/srv/api"}, Name: "prodwrap"}); err == nil {
		t.Error("an unknown flag before the command was accepted")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		want string // regexp on the message
	}{
		{"unknown key", "[service]\nname = \"x\"\nnmae = \"typo\"\n", nil, nil, `prodwrap.toml:3: service.nmae: unknown key`},
		{"unknown table", "[sevrice]\nname = \"x\"\n", nil, nil, `prodwrap.toml:1: sevrice(\.name)?: unknown key`},
		{"syntax", "[service\nname = 1\n", nil, nil, `prodwrap.toml:\d+:\d+: `},
		{"type", "[capture]\ntail_lines = \"many\"\n", nil, nil, `prodwrap.toml:2:\d+.*tail_lines`},
		{"bad duration", "[delivery]\ndeadline = \"soon\"\n", nil, nil, `invalid duration "soon": want a non-negative Go duration`},
		{"bad size", "[capture]\nmax_dump = \"lots\"\n", nil, nil, `invalid size "lots": want a byte count`},
		{"bad signal", "[process]\nforward_signals = [\"SIGNOPE\"]\n", nil, nil, `process.forward_signals: unknown signal "SIGNOPE"`},
		{"bad DSN", "[sentry]\ndsn = \"https://sentry.example.com/abc\"\n", nil, nil, `sentry.dsn: invalid Sentry DSN: want https://PUBLIC_KEY@HOST/PROJECT_ID`},
		{"bad webhook URL", "[[webhook]]\nurl = \"ftp://x\"\n", nil, nil, `webhook\[0\].url: invalid URL`},
		{"bad env value", "", []string{"PRODWRAP_TAIL_LINES=ten"}, nil, `environment: PRODWRAP_TAIL_LINES: invalid number "ten"`},
		{"bad flag value", "", nil, []string{"--drain-timeout", "forever"}, `command line: --drain-timeout: invalid duration "forever"`},
		{"bad level", "[log]\nlevel = \"loud\"\n", nil, nil, `log.level: invalid level "loud"`},
		{"slack token without channel", "[slack]\ntoken = \"xoxb-1\"\n", nil, nil, `slack.channel: missing: a Slack token needs a channel`},
		{"slack webhook and token", "[slack]\ntoken = \"xoxb-1\"\nchannel = \"C1\"\nwebhook_url = \"https://hooks.slack.com/services/x\"\n", nil, nil, `slack.token: set either`},
		{"bad slack webhook", "", []string{"PRODWRAP_SLACK_WEBHOOK_URL=hooks.slack.com/x"}, nil, `environment: PRODWRAP_SLACK_WEBHOOK_URL: invalid URL`},
		{"bad flood window", "[delivery]\nflood_window = \"a while\"\n", nil, nil, `invalid duration "a while"`},
		{"missing file", "", []string{"PRODWRAP_CONFIG=/nonexistent/prodwrap.toml"}, nil, `/nonexistent/prodwrap.toml: cannot read the configuration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, _, err := config.Load(config.Options{Args: append(args, "cmd"), Env: tt.env, Name: "prodwrap"})
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

const dsn = "https://publickey123@sentry.example.com/42"

func TestSecretsFromFileAndCredentials(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dsn"), []byte(dsn+"\n"), 0o600)
	c, _, err := config.Load(config.Options{Args: []string{"--config", writeFile(t, "[sentry]\ndsn_file = \""+filepath.Join(dir, "dsn")+"\"\n"), "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Sentry.DSN.Reveal() != dsn {
		t.Errorf("DSN from dsn_file = %q", c.Sentry.DSN.Reveal())
	}
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "sentry-dsn"), []byte(dsn), 0o600)
	os.WriteFile(filepath.Join(creds, "slack-token"), []byte("xoxb-cred-token\n"), 0o600)
	os.WriteFile(filepath.Join(creds, "webhook-url"), []byte("https://hooks.example.com/secret-hook"), 0o600)
	c, _, err = config.Load(config.Options{Args: []string{"--slack-channel", "C1", "x"}, Env: []string{"CREDENTIALS_DIRECTORY=" + creds}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Sentry.DSN.Reveal() != dsn || len(c.Webhooks) != 1 || c.Webhooks[0].URL.Reveal() != "https://hooks.example.com/secret-hook" {
		t.Errorf("from $CREDENTIALS_DIRECTORY: dsn %q webhooks %d", c.Sentry.DSN.Reveal(), len(c.Webhooks))
	}
	var out bytes.Buffer
	if err := c.WriteTOML(&out); err != nil {
		t.Fatal(err)
	}
	if c.Slack.Token.Reveal() != "xoxb-cred-token" {
		t.Errorf("slack token from $CREDENTIALS_DIRECTORY = %q", c.Slack.Token.Reveal())
	}
	for _, secret := range []string{"publickey123", "secret-hook", "xoxb-cred-token"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("check-config output shows the secret %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), `dsn = "***"`) {
		t.Errorf("masked DSN missing:\n%s", out.String())
	}
}

func TestDefaultsAndSizes(t *testing.T) {
	c, _, err := config.Load(config.Options{Args: []string{"--max-dump", "1GiB", "--drain-timeout", "500ms", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Capture.MaxDump != 1<<30 || time.Duration(c.Capture.DrainTimeout) != 500*time.Millisecond {
		t.Errorf("max_dump %d drain %v", c.Capture.MaxDump, time.Duration(c.Capture.DrainTimeout))
	}
	if time.Duration(c.Delivery.Deadline) != 10*time.Second || c.Capture.TailLines != 100 {
		t.Errorf("defaults: %+v", c.Delivery)
	}
}

// TestExampleFileIsComplete loads config.example.toml and checks that every
// key the code accepts appears in it, so the two never drift apart.
func TestExampleFileIsComplete(t *testing.T) {
	path := filepath.Join("..", "config.example.toml")
	c, _, err := config.Load(config.Options{Args: []string{"--config", path, "x"}})
	if err != nil {
		t.Fatalf("config.example.toml does not load: %v", err)
	}
	if diff := cmp.Diff(config.Default().Capture, c.Capture); diff != "" {
		t.Errorf("example's [capture] differs from the defaults (-default +example):\n%s", diff)
	}
	b, _ := os.ReadFile(path)
	var inFile []string
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if strings.HasPrefix(t, "[") && !strings.Contains(t, "=") {
			section = strings.Trim(t, "[] ")
			continue
		}
		if k, _, ok := strings.Cut(t, " = "); ok && !strings.Contains(k, " ") {
			if section != "" {
				k = section + "." + k
			}
			inFile = append(inFile, k)
		}
	}
	for _, k := range config.Keys() {
		if !slices.Contains(inFile, k) {
			t.Errorf("config.example.toml lacks %s", k)
		}
	}
	sort.Strings(inFile)
	for _, k := range slices.Compact(inFile) {
		if !slices.Contains(config.Keys(), k) {
			t.Errorf("config.example.toml has %s, which the code does not accept", k)
		}
	}
}

// TestConfigurationDocIsComplete: docs/configuration.md names every
// environment variable and flag the code accepts.
func TestConfigurationDocIsComplete(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var env, flags bytes.Buffer
	config.EnvUsage(&env)
	config.FlagUsage(&flags)
	for _, line := range strings.Split(env.String()+flags.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || (!strings.HasPrefix(f[0], "-") && !strings.ContainsAny(f[0], "_")) {
			continue
		}
		if !bytes.Contains(doc, []byte(f[0])) {
			t.Errorf("docs/configuration.md does not mention %s (bash scripts/configdoc regenerates it)", f[0])
		}
	}
}
