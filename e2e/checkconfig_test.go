package e2e_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkConfig runs `prodwrap check-config` with args in an environment
// of prodwrap's settings cleared but for env, and returns its stdout.
func checkConfig(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := command(t, prodwrapBin(t), append([]string{"check-config"}, args...)...)
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("check-config %q exited %d\n%s", args, code, stderr.String())
	}
	return stdout.String()
}

// effective is the comment block check-config writes first, without its
// warnings: read back, a setting written with its default value counts
// as set (process.pass_secrets is then said to be deprecated).
func effective(out string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if !strings.HasPrefix(l, "#   ") && !strings.HasPrefix(l, "# in effect") {
			break
		}
		if !strings.HasPrefix(l, "#   warn: ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestCheckConfigShowsWhatIsInEffect: the spool directory, the fallback in
// effect and the sinks, as comments: the output still loads, and gives
// the same.
func TestCheckConfigShowsWhatIsInEffect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	notADir := filepath.Join(dir, "file")
	os.WriteFile(notADir, nil, 0o644)
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o755)
	tests := []struct {
		name string
		env  []string
		args []string
		want []string // regexps, each matching a line of the block
	}{
		{
			name: "explicit spool, file sink",
			env:  []string{"PRODWRAP_SPOOL=" + spool},
			want: []string{
				`^#   spool directory: ` + regexp.QuoteMeta(spool) + ` \(as configured\)$`,
				`^#   fallback: none$`,
				`^#   sinks: file \(` + regexp.QuoteMeta(filepath.Join(spool, "reports")) + `\)$`,
			},
		},
		{
			name: "systemd's state directory, sentry and a webhook",
			env: []string{"STATE_DIRECTORY=" + dir, "SENTRY_DSN=https://public@sentry.example.com/42",
				"PRODWRAP_WEBHOOK_URL=https://hooks.example.com/secret-path"},
			want: []string{
				`^#   spool directory: ` + regexp.QuoteMeta(filepath.Join(dir, "prodwrap")) + ` \(the default\)$`,
				`^#   fallback: none$`,
				`^#   sinks: sentry, webhook:env$`,
			},
		},
		{
			name: "explicit spool that cannot be used",
			// The file sink then writes where the default spool would.
			env:  []string{"STATE_DIRECTORY=" + dir},
			args: []string{"--spool", notADir},
			want: []string{
				`^#   spool directory: ` + regexp.QuoteMeta(notADir) + ` \(as configured\)$`,
				`^#   fallback: none usable; reports go to the sinks straight from memory$`,
				`^#   error: cannot use the spool directory.*` + regexp.QuoteMeta(notADir),
			},
		},
		{
			name: "default that cannot be used",
			env:  []string{"STATE_DIRECTORY=" + notADir, "TMPDIR=" + tmp},
			want: []string{
				`^#   spool directory: ` + regexp.QuoteMeta(filepath.Join(notADir, "prodwrap")) + ` \(the default\)$`,
				`^#   fallback: ` + regexp.QuoteMeta(tmp) + `/prodwrap-spool-\d+ \(a temporary spool of prodwrap's own\)$`,
				`^#   sinks: file \(` + regexp.QuoteMeta(tmp) + `/prodwrap-spool-\d+/reports\)$`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := checkConfig(t, tt.env, tt.args...)
			block := effective(out)
			for _, re := range tt.want {
				if !regexp.MustCompile("(?m)" + re).MatchString(block) {
					t.Errorf("no line matches %s in:\n%s", re, block)
				}
			}
			if strings.Contains(out, "secret-path") || strings.Contains(out, "public@") {
				t.Errorf("a secret is printed:\n%s", out)
			}
			// The output is a configuration file that gives the same.
			f := filepath.Join(t.TempDir(), "check-config.toml")
			os.WriteFile(f, []byte(out), 0o600)
			again := checkConfig(t, tt.env, append([]string{"--config", f}, tt.args...)...)
			if got := effective(again); got != block {
				t.Errorf("read back, check-config shows\n%s\nwant\n%s", got, block)
			}
		})
	}
}
