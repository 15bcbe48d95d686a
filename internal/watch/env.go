package watch

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
)

// secretEnv are the variables ChildEnv removes.
var secretEnv = []string{"SENTRY_DSN", "PRODWRAP_WEBHOOK_URL", "PRODWRAP_SENTRY_DSN_FILE", "PRODWRAP_SLACK_WEBHOOK_URL", "PRODWRAP_SLACK_TOKEN"}

// ChildEnv returns the child's environment: env without prodwrap's secret
// variables (unless c.Process.PassSecrets), and with GOTRACEBACK set when
// Capture.Gotraceback says so and env has none.
func ChildEnv(c *config.Config, env []string) []string {
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

// DefaultSpoolDir returns the spool directory of docs/architecture.md: under systemd
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
