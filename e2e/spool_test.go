package e2e_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnusableSpoolStillReports: an explicit --spool that cannot be used
// costs no report: an error line at start names it, the healthy webhook
// gets the report from memory, and the child's status and stderr are
// unchanged. (Full, read-only and permission-denied spools are notify's
// fault tests.)
func TestUnusableSpoolStillReports(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "spool-file")
	os.WriteFile(notADir, []byte("not a directory"), 0o600)
	cases := []struct{ name, spool string }{
		{"a file given as --spool", notADir},
		{"/etc/passwd", "/etc/passwd"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			hook := startWebhook(t)
			cfg := filepath.Join(t.TempDir(), "prodwrap.toml")
			os.WriteFile(cfg, []byte("[[webhook]]\nurl = \""+hook.URL+"\"\n"), 0o600)
			cmd := command(t, prodwrapBin(t), "--config", cfg, "--spool", tt.spool, "--", "/bin/sh", "-c", "echo before >&2; exit 3")
			cmd.Env = append(os.Environ(), "PRODWRAP_LOG_FORMAT=json")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			code := exitCode(t, cmd.Run())
			if code != 3 {
				t.Errorf("exit %d, want the child's 3\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "\nbefore\n") {
				t.Errorf("the child's stderr line is not passed through whole:\n%s", stderr.String())
			}
			if n := strings.Count(stderr.String(), tt.spool); n < 1 {
				t.Errorf("no error line names the spool %s:\n%s", tt.spool, stderr.String())
			}
			if got := distinct(hook.reports()); len(got) != 1 {
				t.Errorf("the webhook got %d reports, want 1 from memory\n%s", len(got), stderr.String())
			}
		})
	}
}
