package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runIn calls run in-process, as the binary would, with files for the
// standard streams, and returns the status and what was written.
func runIn(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.WriteFile(in, []byte(stdin), 0o600)
	fin, _ := os.Open(in)
	fout, _ := os.Create(filepath.Join(dir, "out"))
	ferr, _ := os.Create(filepath.Join(dir, "err"))
	defer fin.Close()
	defer fout.Close()
	defer ferr.Close()
	env = append([]string{"PRODWRAP_SPOOL=" + filepath.Join(dir, "spool"), "PATH=" + os.Getenv("PATH")}, env...)
	code := run(args, env, stdio{in: fin, out: fout, err: ferr})
	out, _ := os.ReadFile(fout.Name())
	errb, _ := os.ReadFile(ferr.Name())
	return code, string(out), string(errb)
}

const dump = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:7 +0x25\n"

// headless is dump without its header: a log pipeline lost the "panic: " line.
const headless = "goroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:7 +0x25\n"

func TestRunSubcommands(t *testing.T) {
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"help", "", []string{"help"}, 0, "prodwrap [flags] [--] COMMAND", ""},
		{"--help", "", []string{"--help"}, 0, "", "usage:"},
		{"version", "", []string{"version"}, 0, "prodwrap ", ""},
		{"version with an argument", "", []string{"version", "x"}, 125, "", "takes no arguments"},
		{"--version", "", []string{"--version"}, 0, "prodwrap ", ""},
		{"-V", "", []string{"-V"}, 0, "prodwrap ", ""},
		{"global flag before the sub-command", "", []string{"--tail-lines", "7", "check-config"}, 0, "tail_lines = 7", ""},
		{"global flag after the sub-command", "", []string{"check-config", "--tail-lines", "7"}, 0, "tail_lines = 7", ""},
		{"bool flag before the sub-command", "", []string{"-g", "check-config"}, 0, "process_group = true", ""},
		{"a command named like a sub-command after --", "", []string{"--", "version"}, 127, "", "cannot start version"},
		{"parse json", dump, []string{"parse"}, 0, `"schema": "prodwrap.report/1"`, ""},
		{"parse text", dump, []string{"parse", "--format", "text"}, 0, "kind:     panic", ""},
		{"parse no crash", "hello\n", []string{"parse"}, 1, "", "no Go crash found"},
		{"parse bad format", dump, []string{"parse", "--format", "xml"}, 125, "", "want json or text"},
		{"parse stacks without their header", headless, []string{"parse"}, 1, "", "no Go crash found"},
		{"parse stacks without their header, exit 2", headless, []string{"parse", "--exit-code", "2", "--format", "text"}, 0, "kind:     panic", ""},
		{"parse stacks without their header, exit 1", headless, []string{"parse", "--exit-code=1"}, 1, "", "no Go crash found"},
		{"parse bad exit code", headless, []string{"parse", "--exit-code", "300"}, 125, "", "want 0 (unknown) to 255"},
		{"parse missing file", "", []string{"parse", "/nonexistent/file"}, 125, "", "/nonexistent/file"},
		{"check-config", "", []string{"check-config"}, 0, "[capture]", ""},
		{"check-config bad", "", []string{"check-config", "--tail-lines", "x"}, 125, "", "invalid number"},
		{"send", dump, []string{"send"}, 0, "", "prodwrap: report "},
		{"send no crash", "hello\n", []string{"send"}, 1, "", "no Go crash found"},
		{"flush empty", "", []string{"flush"}, 0, "delivered 0, remaining 0", ""},
		{"test: the file sink", "", []string{"test"}, 0, "file: delivered (", ""},
		{"test with an argument", "", []string{"test", "x"}, 125, "", "x"},
		{"run: child status", "", []string{"--", "/bin/sh", "-c", "exit 3"}, 3, "", "prodwrap: report "},
		{"run: clean exit", "", []string{"--", "/bin/sh", "-c", "echo 'panic: not really' >&2"}, 0, "", "panic: not really"},
		{"run: not found", "", []string{"--", "/nonexistent/cmd"}, 127, "", "cannot start"},
		{"run: no command", "", nil, 125, "", "no COMMAND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runIn(t, tt.stdin, nil, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("prodwrap %q: exit %d (want %d)\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, out, errOut)
			}
		})
	}
}

func TestSendAcceptsASavedReport(t *testing.T) {
	_, report, _ := runIn(t, dump, nil, "parse")
	code, _, errOut := runIn(t, report, nil, "send")
	if code != 0 || !strings.Contains(errOut, "prodwrap: report ") {
		t.Errorf("send of a saved report: exit %d\n%s", code, errOut)
	}
}

// A configuration error never keeps the service from starting: the child
// runs with what is valid and the file sink on, the error is logged and
// put in the report; with strict (and in check-config) it is refused.
func TestBadConfigurationFailsOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prodwrap.toml")
	os.WriteFile(file, []byte("[capture]\ntail_lines = 2147483648\n"), 0o600)
	marker := filepath.Join(dir, "ran")
	spool := filepath.Join(dir, "spool")
	env := []string{"PRODWRAP_SPOOL=" + spool}

	code, _, errOut := runIn(t, "", env, "--config", file, "--", "/bin/sh", "-c", "touch "+marker+"; exit 3")
	if _, err := os.Stat(marker); err != nil || code != 3 {
		t.Fatalf("fail-open: exit %d, child ran: %v\n%s", code, err == nil, errOut)
	}
	if !strings.Contains(errOut, "tail_lines") || !strings.Contains(errOut, file+":2") {
		t.Errorf("the error is not logged with key and line:\n%s", errOut)
	}
	names, _ := filepath.Glob(filepath.Join(spool, "reports", "*.json"))
	if len(names) != 1 {
		t.Fatalf("%d reports", len(names))
	}
	b, _ := os.ReadFile(names[0])
	if !strings.Contains(string(b), `"config_errors"`) || !strings.Contains(string(b), "tail_lines") {
		t.Errorf("the report does not carry the configuration error:\n%s", b)
	}

	os.Remove(marker)
	code, _, errOut = runIn(t, "", env, "--strict", "--config", file, "--", "/bin/sh", "-c", "touch "+marker)
	if _, err := os.Stat(marker); err == nil || code != 125 {
		t.Errorf("--strict: exit %d, child ran: %v\n%s", code, err == nil, errOut)
	}
	if code, _, _ := runIn(t, "", env, "check-config", "--config", file); code != 125 {
		t.Errorf("check-config: exit %d, want 125", code)
	}
}

// A misspelt PRODWRAP_* variable is warned about once, with the variable
// it was probably meant to be.
func TestUnknownVariableIsWarnedOnce(t *testing.T) {
	code, _, errOut := runIn(t, "", []string{"PRODWRAP_SERVCE=api"}, "--", "/bin/sh", "-c", "exit 0")
	if code != 0 || strings.Count(errOut, "PRODWRAP_SERVCE") != 1 || !strings.Contains(errOut, "PRODWRAP_SERVICE") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// Each kind of configuration error fails open the same way: the child runs,
// prodwrap exits with its status, stderr names the problem and where it
// is, the report carries it; --strict refuses with 125 and no child.
func TestEveryConfigErrorFailsOpen(t *testing.T) {
	tests := []struct {
		name string
		toml string
		env  []string
		want []string // in stderr and in the report's config_errors
	}{
		{"a TOML typo", "[service]\nnmae = \"api\"\n", nil, []string{":2", "nmae", "service.name"}},
		{"a bad value", "[capture]\ntail_lines = -4\n", nil, []string{":2", "tail_lines"}},
		{"an unreadable dsn_file", "[sentry]\ndsn_file = \"/nonexistent/dsn\"\n", nil, []string{"/nonexistent/dsn"}},
		{"a malformed DSN from the environment", "", []string{"SENTRY_DSN=https://sentry.example.com/x"}, []string{"SENTRY_DSN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "prodwrap.toml")
			os.WriteFile(file, []byte(tt.toml), 0o600)
			marker := filepath.Join(dir, "ran")
			spool := filepath.Join(dir, "spool")
			env := append([]string{"PRODWRAP_SPOOL=" + spool}, tt.env...)
			script := "touch " + marker + "; exit 3"

			code, _, errOut := runIn(t, "", env, "--config", file, "--", "/bin/sh", "-c", script)
			if _, err := os.Stat(marker); err != nil || code != 3 {
				t.Fatalf("exit %d, child ran: %v\n%s", code, err == nil, errOut)
			}
			names, _ := filepath.Glob(filepath.Join(spool, "reports", "*.json"))
			if len(names) != 1 {
				t.Fatalf("%d reports\n%s", len(names), errOut)
			}
			b, _ := os.ReadFile(names[0])
			var rep struct {
				ConfigErrors []string `json:"config_errors"`
			}
			json.Unmarshal(b, &rep)
			all := strings.Join(rep.ConfigErrors, "\n")
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) || !strings.Contains(all, w) {
					t.Errorf("%q: not named in stderr or in config_errors %q\n%s", w, rep.ConfigErrors, errOut)
				}
			}

			os.Remove(marker)
			code, _, errOut = runIn(t, "", env, "--strict", "--config", file, "--", "/bin/sh", "-c", script)
			if _, err := os.Stat(marker); err == nil || code != 125 {
				t.Errorf("--strict: exit %d, child ran: %v\n%s", code, err == nil, errOut)
			}
		})
	}
}
