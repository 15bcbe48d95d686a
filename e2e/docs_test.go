package e2e_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/testreceiver"
)

// The recipes of docs/ that a reader runs as written: the tests read the
// commands from the documents themselves, so that a change of the document
// is a change of what is tested.

// cleanEnv is os.Environ without prodwrap's settings and what systemd or
// Sentry would set, plus env.
func cleanEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PRODWRAP_") || strings.HasPrefix(k, "SENTRY_") {
			continue
		}
		switch k {
		case "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY", "TMPDIR", "NOTIFY_SOCKET", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID":
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// testedBlocks returns the fenced blocks of the document at path (relative
// to the repository) that follow a line naming e2e/docs_test.go: the
// commands, one a line, blank lines and comments left out.
func testedBlocks(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]string
	marked, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case in && strings.HasPrefix(l, "```"):
			in = false
		case in:
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
			}
		case marked && strings.HasPrefix(l, "```"):
			in, marked = true, false
			blocks = append(blocks, nil)
		case strings.Contains(l, "e2e/docs_test.go runs this block"):
			marked = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// hostPath is an absolute path of the host's that a document installs to
// or reads from.
var hostPath = regexp.MustCompile(`(^|[\s>=:'"])/(etc|usr/local|var)/`)

// underRoot puts the host's paths in s under root.
func underRoot(s, root string) string {
	return hostPath.ReplaceAllString(s, "${1}"+root+"/${2}/")
}

// sentryStandIn is an HTTP server that accepts every envelope, for a DSN
// that works; it keeps the envelopes.
type sentryStandIn struct {
	srv  *httptest.Server
	mu   sync.Mutex
	envs [][]byte
}

func startSentryStandIn(t *testing.T) *sentryStandIn {
	s := &sentryStandIn{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("sentry stand-in: %v", err)
		}
		s.mu.Lock()
		s.envs = append(s.envs, b)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sentryStandIn) dsn() string {
	return "http://publickey@" + strings.TrimPrefix(s.srv.URL, "http://") + "/1"
}

// events counts the envelopes that hold an event.
func (s *sentryStandIn) events(t *testing.T) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.envs {
		items, err := testreceiver.ParseEnvelope(e)
		if err != nil {
			t.Errorf("sentry stand-in: %v", err)
			continue
		}
		for _, it := range items {
			if it.Header["type"] == "event" {
				n++
			}
		}
	}
	return n
}

// unitValue returns the value of the unit file's key=, which must be
// there once.
func unitValue(t *testing.T, unit, key string) string {
	t.Helper()
	var vals []string
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) != 1 {
		t.Fatalf("the unit has %d %s= lines, want 1", len(vals), key)
	}
	return vals[0]
}

// TestSystemdDocInstallVerifies runs docs/systemd.md's install and verify
// steps as written, with the host's paths (/etc, /usr/local, /var) under a
// temporary root, the built prodwrap and a built crashing service as the
// binaries, and the real systemd-analyze on that root. Then it runs the
// installed unit's ExecStart= command as systemd would — $STATE_DIRECTORY
// of StateDirectory=, $CREDENTIALS_DIRECTORY of LoadCredential= — and
// finds the crash's report in the state directory and its event at Sentry.
func TestSystemdDocInstallVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the documented unit cannot be verified here")
	}
	// A real host has the distribution's units (sysinit.target,
	// network-online.target, ...), which verify loads with the unit.
	const units = "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(units, "sysinit.target")); err != nil {
		t.Skipf("no systemd units in %s: systemd-analyze --root cannot load the unit's dependencies", units)
	}
	blocks := testedBlocks(t, "docs/systemd.md")
	if len(blocks) != 2 {
		t.Fatalf("docs/systemd.md has %d tested blocks, want 2 (install, verify)", len(blocks))
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755)
	if out, err := exec.Command("cp", "-a", units, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copy the units: %v\n%s", err, out)
	}

	// The checkout the steps run from: docs/examples, bin/prodwrap, bin/api.
	checkout := t.TempDir()
	os.Symlink(filepath.Join(repoRoot(t), "docs"), filepath.Join(checkout, "docs"))
	os.Mkdir(filepath.Join(checkout, "bin"), 0o755)
	if b, err := os.ReadFile(prodwrapBin(t)); err != nil || os.WriteFile(filepath.Join(checkout, "bin", "prodwrap"), b, 0o755) != nil {
		t.Fatalf("copy prodwrap: %v", err)
	}
	build := command(t, goTool(), "build", "-o", filepath.Join(checkout, "bin", "api"), "./examples/crash")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the service: %v\n%s", err, out)
	}

	sentry := startSentryStandIn(t)
	stateDir := filepath.Join(root, "var/lib/api")
	env := cleanEnv(
		"SENTRY_DSN="+sentry.dsn(),
		"PATH="+filepath.Join(root, "usr/local/bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		// check-config's spool in the shell: inside the root, not the host's /var/lib.
		"STATE_DIRECTORY="+stateDir,
	)
	run := func(line string) string {
		t.Helper()
		line = underRoot(line, root)
		line = strings.Replace(line, "systemd-analyze verify ", analyze+" verify --root="+root+" ", 1)
		cmd := command(t, "/bin/sh", "-ec", line)
		cmd.Dir, cmd.Env = checkout, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return string(out)
	}
	for _, line := range blocks[0] {
		run(line)
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/prodwrap/api-sentry-dsn")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the DSN file: %v, mode %v; want 0600", err, fi.Mode())
	}
	verified, checked := false, false
	for _, line := range blocks[1] {
		out := run(line)
		switch {
		case strings.HasPrefix(line, "systemd-analyze verify"):
			verified = true
			if strings.TrimSpace(out) != "" {
				t.Errorf("%s printed:\n%s", line, out)
			}
		case strings.HasPrefix(line, "prodwrap check-config"):
			checked = true
			for _, want := range []string{`name = "api" # file`, "#   spool directory: " + filepath.Join(stateDir, "prodwrap")} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: no %q in\n%s", line, want, out)
				}
			}
		}
	}
	if !verified || !checked {
		t.Errorf("the verify block lacks systemd-analyze verify (%v) or prodwrap check-config (%v)", verified, checked)
	}

	// The service as systemd starts it.
	unitBytes, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/api.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(unitBytes)
	argv := strings.Fields(underRoot(unitValue(t, unit, "ExecStart"), root))
	credName, credPath, ok := strings.Cut(unitValue(t, unit, "LoadCredential"), ":")
	if !ok {
		t.Fatalf("LoadCredential=%s: want NAME:PATH", unitValue(t, unit, "LoadCredential"))
	}
	credDir := t.TempDir()
	if b, err := os.ReadFile(underRoot(credPath, root)); err != nil || os.WriteFile(filepath.Join(credDir, credName), b, 0o400) != nil {
		t.Fatalf("the credential %s: %v", credPath, err)
	}
	if unitValue(t, unit, "StateDirectory") != "api" {
		t.Fatalf("StateDirectory=%s, want api", unitValue(t, unit, "StateDirectory"))
	}
	os.MkdirAll(stateDir, 0o755) // systemd makes it
	svc := command(t, argv[0], argv[1:]...)
	svc.Env = cleanEnv("STATE_DIRECTORY="+stateDir, "CREDENTIALS_DIRECTORY="+credDir)
	out, err := svc.CombinedOutput()
	if code := exitCode(t, err); code != 2 {
		t.Fatalf("%s: exit %d, want the crash's 2\n%s", argv, code, out)
	}
	reports := reporttest.Reports(t, filepath.Join(stateDir, "prodwrap", "reports"))
	if len(reports) != 1 || reports[0].Service != "api" || reports[0].Environment != "production" {
		t.Errorf("reports in %s: %d, want one of service api in production\n%s", stateDir, len(reports), out)
	}
	if n := sentry.events(t); n != 1 {
		t.Errorf("Sentry got %d events through the credential, want 1\n%s", n, out)
	}
	if strings.Contains(string(out), "publickey") {
		t.Errorf("the DSN leaks:\n%s", out)
	}
}

// TestFirstFiveMinutes runs docs/first-five-minutes.md's blocks as one
// shell session, from the repository, with bin/ in a temporary directory,
// the spool there too ($STATE_DIRECTORY, which the page does not set, so
// that the host's /var/lib/prodwrap is not touched) and the page's
// placeholder DSN replaced by one of a Sentry stand-in.
func TestFirstFiveMinutes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed: the page's step 3 uses it")
	}
	blocks := testedBlocks(t, "docs/first-five-minutes.md")
	if len(blocks) != 5 {
		t.Fatalf("docs/first-five-minutes.md has %d tested blocks, want 5 (install, run, see, add Sentry, test)", len(blocks))
	}
	dir := t.TempDir()
	sentry := startSentryStandIn(t)
	var script strings.Builder
	for _, b := range blocks {
		for _, l := range b {
			l = regexp.MustCompile(`(^|[\s(])bin/`).ReplaceAllString(l, "${1}"+dir+"/bin/")
			l = regexp.MustCompile(`SENTRY_DSN=\S+`).ReplaceAllString(l, "SENTRY_DSN="+sentry.dsn())
			script.WriteString(l + "\n")
		}
	}
	cmd := command(t, "/bin/sh", "-c", script.String())
	cmd.Dir = repoRoot(t)
	cmd.Env = cleanEnv(
		"PATH="+filepath.Dir(goTool())+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STATE_DIRECTORY="+filepath.Join(dir, "state"),
	)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(t, cmd.Run())
	out := stdout.String() + stderr.String()
	if code != 0 {
		t.Errorf("the page's last command, prodwrap test, exited %d\n%s\n%s", code, script.String(), out)
	}
	for _, want := range []string{
		"prodwrap: crash crashed (panic): runtime error: invalid memory address or nil pointer dereference at main.handle",
		"prodwrap: report " + filepath.Join(dir, "state", "prodwrap", "reports"),
		`"kind": "panic"`,
		`"function": "main.handle"`,
		"sentry: delivered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in what the page's commands printed:\n%s", want, out)
		}
	}
	if n := sentry.events(t); n != 1 {
		t.Errorf("Sentry got %d events, want the test report", n)
	}
}
