package e2e_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestChildEnvironmentIsScrubbed: the child does not see prodwrap's
// secrets unless pass_secrets says so.
func TestChildEnvironmentIsScrubbed(t *testing.T) {
	const dsn = "https://abcdef0123@sentry.example.com/42"
	env := []string{"SENTRY_DSN=" + dsn, "PRODWRAP_WEBHOOK_URL=http://127.0.0.1:1/secret-hook", "PRODWRAP_DEADLINE=100ms", "KEEP_ME=1"}
	r := prodwrap(t, nil, env, "--", "/usr/bin/env")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(r.stdout)))
	for sc.Scan() {
		k, _, _ := strings.Cut(sc.Text(), "=")
		seen[k] = true
	}
	if seen["SENTRY_DSN"] || seen["PRODWRAP_WEBHOOK_URL"] || !seen["KEEP_ME"] {
		t.Errorf("child saw SENTRY_DSN %v, PRODWRAP_WEBHOOK_URL %v, KEEP_ME %v", seen["SENTRY_DSN"], seen["PRODWRAP_WEBHOOK_URL"], seen["KEEP_ME"])
	}
	r = prodwrap(t, nil, append(env, "PRODWRAP_PASS_SECRETS=true"), "--", "/usr/bin/env")
	if !strings.Contains(string(r.stdout), "SENTRY_DSN="+dsn) {
		t.Errorf("with pass_secrets the child lacks SENTRY_DSN")
	}
}

// TestReadmeRunCommand is a newcomer's path: a clone of what is committed,
// the README's first command, and a crash report at the end of it.
func TestReadmeRunCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and builds")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var runCmd string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "    ") {
			runCmd = strings.TrimSpace(line)
			break
		}
	}
	if !strings.Contains(runCmd, "prodwrap") {
		t.Fatalf("the README's first command is %q", runCmd)
	}
	clone := filepath.Join(t.TempDir(), "prodwrap")
	if out, err := exec.Command("git", "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Skipf("cannot clone the repository here: %v\n%s", err, out)
	}
	cmd := command(t, "/bin/sh", "-c", runCmd)
	cmd.Dir = clone
	cmd.Env = append(os.Environ(), "STATE_DIRECTORY="+t.TempDir()) // keep the spool out of /var/lib
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "panic: runtime error") || !strings.Contains(string(out), "prodwrap: report ") {
		t.Errorf("README command %q printed:\n%s", runCmd, out)
	}
}
