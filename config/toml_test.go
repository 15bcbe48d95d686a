package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prodwrap/prodwrap/config"
)

// TestWriteTOMLRoundTrips: check-config's output is a configuration file
// that gives the same configuration, with the same environment.
func TestWriteTOMLRoundTrips(t *testing.T) {
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	hookFile := filepath.Join(dir, "hook")
	os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600)
	os.WriteFile(hookFile, []byte("https://hooks.example.com/from-file\n"), 0o600)
	env := []string{"PRODWRAP_SLACK_TOKEN=xoxb-env-token", "PRODWRAP_SLACK_CHANNEL=C1", "PRODWRAP_WEBHOOK_URL=https://hooks.example.com/env-hook", "PRODWRAP_SERVICE=api \"quoted\"\t\\"}
	tests := []struct {
		name string
		file string
		args []string
	}{
		{"defaults", "", nil},
		{"everything", `
[capture]
tail_lines = 50
max_dump = 1048576
gotraceback = "all"
[process]
forward_signals = []
restart = "always"
restart_reset = "0s"
[file]
enabled = false
[sentry]
dsn_file = "` + dsnFile + `"
[slack]
api_url = "https://slack.example.com/api/"
[delivery]
flood_window = "90m"
[[webhook]]
name = "ops"
url_file = "` + hookFile + `"
`, []string{"--max-line", "1KiB", "--file", "-g"}},
		{"signals", "[process]\nforward_signals = [\"TERM\", \"usr1\"]\n", []string{"--restart", "on-failure"}},
	}
	ignore := cmpopts.IgnoreUnexported(config.Config{}, config.Webhook{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			first, _, err := config.Load(config.Options{Args: append(args, "x"), Env: env})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := first.WriteTOML(&out); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "check-config.toml")
			os.WriteFile(path, out.Bytes(), 0o600)
			again, _, err := config.Load(config.Options{Args: []string{"--config", path, "x"}, Env: env})
			if err != nil {
				t.Fatalf("check-config's output does not load: %v\n%s", err, out.String())
			}
			if diff := cmp.Diff(first, again, ignore, cmpopts.IgnoreFields(config.Config{}, "Path")); diff != "" {
				t.Errorf("read back, the configuration differs (-first +again):\n%s\n%s", diff, out.String())
			}
			var out2 bytes.Buffer
			again.WriteTOML(&out2)
			if strip(out.String()) != strip(out2.String()) {
				t.Errorf("written again, check-config's output differs:\n%s\n---\n%s", out.String(), out2.String())
			}
			if strings.Contains(out.String(), "xoxb-env-token") || strings.Contains(out.String(), "publickey123") || strings.Contains(out.String(), "from-file") {
				t.Errorf("check-config shows a secret:\n%s", out.String())
			}
		})
	}
}

// strip drops the comments (the sources, which differ: file against flag).
func strip(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, " # "); i >= 0 && !strings.HasPrefix(l, "#") {
			l = l[:i]
		}
		if !strings.HasPrefix(l, "# configuration file") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestMaskedSecretsAreNotValues: a secret written as check-config masks
// it is left to its other sources, never taken as the secret, and an error
// when no other source gives it.
func TestMaskedSecretsAreNotValues(t *testing.T) {
	c, err := load(t, "[sentry]\ndsn = \"***\"\n", []string{"SENTRY_DSN=" + dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sentry.DSN.Reveal() != dsn || c.SourceOf("sentry.dsn") != config.FromEnv {
		t.Errorf("dsn %q from %v", c.Sentry.DSN.Reveal(), c.SourceOf("sentry.dsn"))
	}
	for _, tt := range []struct{ file, want string }{
		{"[sentry]\ndsn = \"***\"\n", `prodwrap.toml:2:1: sentry.dsn: the value is "\*\*\*", check-config's mask`},
		{"[slack]\nchannel = \"C1\"\ntoken = \"***\"\n", `prodwrap.toml:3:1: slack.token: the value is "\*\*\*"`},
		{"[[webhook]]\nurl = \"***\"\n", `prodwrap.toml:2:1: webhook\[0\].url: the value is "\*\*\*"`},
		{"[[webhook]]\nurl = \"https://hooks.example.com/x\"\nheaders.Authorization = \"***\"\n", `prodwrap.toml:3:1: webhook\[0\].headers.Authorization: the value is "\*\*\*"`},
	} {
		_, err := load(t, tt.file, nil, nil)
		if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
			t.Errorf("%q: got %v, want an error matching %q", tt.file, err, tt.want)
		}
	}
}
