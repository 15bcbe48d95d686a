package e2e_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestChildEnvironmentIsScrubbed: the child keeps the service's own
// SENTRY_DSN (prodwrap never switches off its SDK) and never sees
// prodwrap's own secrets; scrub_env removes what it lists.
func TestChildEnvironmentIsScrubbed(t *testing.T) {
	const dsn = "https://abcdef0123@sentry.example.com/42"
	// No sessions: the DSN's host is not this machine's.
	env := []string{"SENTRY_DSN=" + dsn, "SENTRY_RELEASE=r1", "PRODWRAP_SENTRY_SESSIONS=false", "PRODWRAP_WEBHOOK_URL=http://127.0.0.1:1/secret-hook", "PRODWRAP_DEADLINE=100ms", "KEEP_ME=1"}
	seen := func(stdout []byte) map[string]bool {
		m := map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(string(stdout)))
		for sc.Scan() {
			k, _, _ := strings.Cut(sc.Text(), "=")
			m[k] = true
		}
		return m
	}
	r := prodwrap(t, nil, env, "--", "/usr/bin/env")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	s := seen(r.stdout)
	if !strings.Contains(string(r.stdout), "SENTRY_DSN="+dsn) || !s["SENTRY_RELEASE"] || s["PRODWRAP_WEBHOOK_URL"] || !s["KEEP_ME"] {
		t.Errorf("child saw SENTRY_DSN %v, SENTRY_RELEASE %v, PRODWRAP_WEBHOOK_URL %v, KEEP_ME %v", s["SENTRY_DSN"], s["SENTRY_RELEASE"], s["PRODWRAP_WEBHOOK_URL"], s["KEEP_ME"])
	}
	r = prodwrap(t, nil, append(env, "PRODWRAP_SCRUB_ENV=SENTRY_DSN,KEEP_ME"), "--", "/usr/bin/env")
	if s := seen(r.stdout); s["SENTRY_DSN"] || s["KEEP_ME"] || !s["SENTRY_RELEASE"] || s["PRODWRAP_WEBHOOK_URL"] {
		t.Errorf("with scrub_env the child saw SENTRY_DSN %v, KEEP_ME %v, SENTRY_RELEASE %v", s["SENTRY_DSN"], s["KEEP_ME"], s["SENTRY_RELEASE"])
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
