package main

import (
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
		{"parse json", dump, []string{"parse"}, 0, `"schema": "prodwrap.report/1"`, ""},
		{"parse text", dump, []string{"parse", "--format", "text"}, 0, "kind:     panic", ""},
		{"parse no crash", "hello\n", []string{"parse"}, 1, "", "no Go crash found"},
		{"parse bad format", dump, []string{"parse", "--format", "xml"}, 125, "", "want json or text"},
		{"parse missing file", "", []string{"parse", "/nonexistent/file"}, 125, "", "/nonexistent/file"},
		{"check-config", "", []string{"check-config"}, 0, "[capture]", ""},
		{"check-config bad", "", []string{"check-config", "--tail-lines", "x"}, 125, "", "invalid number"},
		{"send", dump, []string{"send"}, 0, "", "prodwrap: report "},
		{"send no crash", "hello\n", []string{"send"}, 1, "", "no Go crash found"},
		{"flush empty", "", []string{"flush"}, 0, "delivered 0, remaining 0", ""},
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
