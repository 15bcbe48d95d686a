package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
)

// ChildEnv returns the child's environment: env without prodwrap's own
// secrets (every PRODWRAP_* variable that holds a URL, a key, a token or
// names a file of one; unless the deprecated c.Process.PassSecrets) and
// without the variables c.Process.ScrubEnv lists, and with GOTRACEBACK set
// when Capture.Gotraceback says so and env has none. SENTRY_DSN,
// SENTRY_ENVIRONMENT and SENTRY_RELEASE stay: prodwrap never switches off
// the service's own SDK (docs/sentry.md says how to avoid double reports).
func ChildEnv(c *config.Config, env []string) []string {
	out := make([]string, 0, len(env)+1)
	hasTraceback := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !c.Process.PassSecrets && isSecretEnv(k) || slices.Contains(c.Process.ScrubEnv, k) {
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

// isSecretEnv reports whether k is one of prodwrap's own secrets: its
// sinks' URLs and their files, tokens, keys, passwords.
func isSecretEnv(k string) bool {
	rest, ok := strings.CutPrefix(k, "PRODWRAP_")
	if !ok {
		return false
	}
	for _, w := range []string{"URL", "DSN", "TOKEN", "SECRET", "PASSWORD", "KEY", "HEADER"} {
		if strings.Contains(rest, w) {
			return true
		}
	}
	return false
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
