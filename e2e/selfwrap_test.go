package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

// The library mode's end-to-end tests run the crash zoo's selfwrap build:
// the crasher calls selfwrap.Main first thing in main, in the mode
// ZOO_SELFWRAP names, and prints "zoo: pid=N" once it is the program.

var wrapModes = []string{"reexec", "monitor"}

// selfwrapRun is one run of the self-wrapped crasher.
type selfwrapRun struct {
	status int    // the exit status as a shell sees it: 128+N for signal N
	pid    int    // the PID the test started
	progID int    // the PID the program printed
	stderr []byte // the whole stderr file, the monitor's summary included once reported
	spool  string
}

// selfwrapCmd returns the guarded command of the self-wrapped crasher in
// wrap mode wrap, with a fresh spool and stderr going to a file (so that the
// monitor can read a fatal error's message there, as with a log file).
func selfwrapCmd(t *testing.T, wrap string, env []string, args ...string) (*exec.Cmd, string, *os.File) {
	t.Helper()
	bin := zoo.Build(t, zoo.SelfWrap)
	spool := t.TempDir()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	cmd := command(t, bin, args...)
	cmd.Env = append(os.Environ(), "ZOO_SELFWRAP="+wrap, "PRODWRAP_SPOOL="+spool, "PRODWRAP_LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = stderr // a file: the monitor reads a fatal error's line from it
	return cmd, spool, stderr
}

// finish waits for cmd and, when a report is expected, for the file sink
// to hold it (the monitor reports after the program is gone).
func finish(t *testing.T, cmd *exec.Cmd, spool string, stderr *os.File, reports int) selfwrapRun {
	t.Helper()
	err := cmd.Wait()
	r := selfwrapRun{status: waitStatus(t, err), pid: cmd.Process.Pid, spool: spool}
	reporttest.WaitReports(t, filepath.Join(spool, "reports"), reports, 15*time.Second)
	// The summary follows the report file; give the monitor a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.stderr, _ = os.ReadFile(stderr.Name())
		if reports == 0 || bytes.Contains(r.stderr, []byte("prodwrap: report ")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := regexp.MustCompile(`zoo: pid=(\d+)`).FindSubmatch(r.stderr); m != nil {
		r.progID, _ = strconv.Atoi(string(m[1]))
	}
	// The monitor outlives the program (it reports after the program is
	// gone) and may still write to the spool: the test's temporary
	// directories must not be removed under its feet.
	waitUnheld(t, stderr.Name(), 15*time.Second)
	return r
}

// waitUnheld waits until no other process holds file open (the selfwrap
// monitor inherits the program's stderr and keeps it until it exits).
func waitUnheld(t *testing.T, file string, limit time.Duration) {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	deadline := time.Now().Add(limit)
	for {
		held := false
		fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
		for _, fd := range fds {
			if strings.HasPrefix(fd, "/proc/"+self+"/") {
				continue
			}
			if target, err := os.Readlink(fd); err == nil && target == file {
				held = true
				break
			}
		}
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s is still held open %v after the program ended (a monitor that does not exit)", file, limit)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runSelfwrapped runs the self-wrapped crasher to its end.
func runSelfwrapped(t *testing.T, wrap string, env []string, reports int, args ...string) selfwrapRun {
	t.Helper()
	cmd, spool, stderr := selfwrapCmd(t, wrap, env, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return finish(t, cmd, spool, stderr, reports)
}

// waitStatus is the status of a waited-for command as a shell reports it.
func waitStatus(t testing.TB, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			code, _ := supervise.Status(ws)
			return code
		}
	}
	return exitCode(t, err)
}

func (r selfwrapRun) reports(t *testing.T) []*report.Report {
	t.Helper()
	return run{spool: r.spool}.reports(t)
}

// TestSelfwrapCrashesReachFileAndSentry: in both modes, a nil dereference,
// a panic in a goroutine a third-party package started, concurrent map
// writes, a deadlock (which the runtime detects only if nothing selfwrap
// links holds its detector off) and a SIGTERM'd program each give the
// status docs/architecture.md ("Exit status") says and a report in the
// file sink and in the local Sentry receiver; the monitor mode keeps the
// program's PID, the re-exec mode runs it as a child.
func TestSelfwrapCrashesReachFileAndSentry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	tests := []struct {
		mode    string
		kind    string
		message string
		culprit string
		status  int
		excType string
	}{
		{"nil-deref", "panic", "runtime error: invalid memory address or nil pointer dereference", "main.(*Server).handle", 2, "runtime.Error"},
		{"errgroup-panic", "panic", "worker failed", "main.errgroupPanic.func1", 2, "panic"},
		{"concurrent-map-writes", "fatal_error", "concurrent map writes", "main.concurrentMapWrites.func1", 2, "fatal_error"},
		{"deadlock", "deadlock", "all goroutines are asleep - deadlock!", "main.deadlock", 2, "deadlock"},
		{"sigterm", "killed", "killed by SIGTERM", "", 143, "killed"},
	}
	events := 0
	for _, wrap := range wrapModes {
		for _, tt := range tests {
			t.Run(wrap+"/"+tt.mode, func(t *testing.T) {
				env := []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_FILE=true"}
				var r selfwrapRun
				if tt.mode == "sigterm" {
					r = sigtermHung(t, wrap, env)
				} else {
					r = runSelfwrapped(t, wrap, env, 1, tt.mode)
				}
				if r.status != tt.status {
					t.Errorf("status %d, want %d\n%s", r.status, tt.status, r.stderr)
				}
				checkWrapPID(t, wrap, r)
				reps := r.reports(t)
				if len(reps) != 1 {
					t.Fatalf("%d reports, want 1\n%s", len(reps), r.stderr)
				}
				rep := reps[0]
				if rep.Crash.Kind != parse.Kind(tt.kind) || !strings.HasPrefix(rep.Crash.Message, tt.message) {
					t.Errorf("crash %s %q, want %s %q", rep.Crash.Kind, rep.Crash.Message, tt.kind, tt.message)
				}
				if tt.culprit != "" && (rep.Crash.Culprit == nil || rep.Crash.Culprit.Function != tt.culprit) {
					t.Errorf("culprit %+v, want %s", rep.Crash.Culprit, tt.culprit)
				}
				if rep.Exit.Code != tt.status || rep.Command.PID != r.progID || rep.Wrap != wrap || rep.Tags["zoo"] != "selfwrap" {
					t.Errorf("exit %d pid %d wrap %q tags %v; want %d, %d, %s and the OnReport hook's tag", rep.Exit.Code, rep.Command.PID, rep.Wrap, rep.Tags, tt.status, r.progID, wrap)
				}
				if rep.Build.MainModule != "github.com/prodwrap/prodwrap" {
					t.Errorf("build %+v", rep.Build)
				}
				events++
				envs := rcv.Envelopes(events, 15*time.Second)
				if len(envs) != events {
					t.Fatalf("Sentry holds %d envelopes, want %d", len(envs), events)
				}
				ev := sentryEvent(t, envs[events-1])
				if len(ev.Exception) != 1 || ev.Exception[0].Type != tt.excType || !strings.HasPrefix(ev.Exception[0].Value, tt.message) {
					t.Errorf("Sentry exception %+v, want %s %q", ev.Exception, tt.excType, tt.message)
				}
				if ev.Tags["wrap"] != wrap || ev.Tags["zoo"] != "selfwrap" {
					t.Errorf("Sentry tags %v", ev.Tags)
				}
			})
		}
	}
}

// sigtermHung starts the hang mode, waits for it to be ready and sends
// SIGTERM to the PID the test started.
func sigtermHung(t *testing.T, wrap string, env []string) selfwrapRun {
	t.Helper()
	cmd, spool, stderr := selfwrapCmd(t, wrap, env, "hang")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("not ready: %q %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	return finish(t, cmd, spool, stderr, 1)
}

// checkWrapPID: the monitor mode keeps the program's PID; the re-exec mode
// runs the program as a child of the process the test started.
func checkWrapPID(t *testing.T, wrap string, r selfwrapRun) {
	t.Helper()
	switch {
	case r.progID == 0:
		t.Errorf("the program printed no pid\n%s", r.stderr)
	case wrap == "monitor" && r.progID != r.pid:
		t.Errorf("monitor mode: the program ran as pid %d, want the started pid %d", r.progID, r.pid)
	case wrap == "reexec" && r.progID == r.pid:
		t.Errorf("re-exec mode: the program ran as the started pid %d, want a child", r.pid)
	}
}

type sentryEv struct {
	Exception []struct{ Type, Value string } `json:"exception"`
	Tags      map[string]string              `json:"tags"`
}

func sentryEvent(t *testing.T, env []byte) sentryEv {
	t.Helper()
	items, err := testreceiver.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	var ev sentryEv
	for _, it := range items {
		if it.Header["type"] == "event" {
			if err := json.Unmarshal(it.Payload, &ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ev
}

// TestSelfwrapExitCodesPropagate: all 256 exit codes, in both modes, as
// under the prefix command; a non-zero one is reported as kind exit.
func TestSelfwrapExitCodesPropagate(t *testing.T) {
	for _, wrap := range wrapModes {
		t.Run(wrap, func(t *testing.T) {
			for code := 0; code < 256; code++ {
				want := 0
				if code != 0 && code%51 == 0 {
					want = 1 // a sample of codes checks the report too
				}
				r := runSelfwrapped(t, wrap, nil, want, "exit", strconv.Itoa(code))
				if r.status != code {
					t.Fatalf("exit %d gave status %d\n%s", code, r.status, r.stderr)
				}
				if want == 1 {
					reps := r.reports(t)
					if len(reps) != 1 || reps[0].Crash.Kind != parse.KindExit || reps[0].Exit.Code != code {
						t.Fatalf("exit %d: reports %+v", code, reps)
					}
				}
			}
		})
	}
}

// TestSelfwrapSignalDeathsAre128PlusN: a program killed by a signal gives
// 128+N (panicwrap gives -1) and a killed report.
func TestSelfwrapSignalDeathsAre128PlusN(t *testing.T) {
	for _, wrap := range wrapModes {
		t.Run(wrap, func(t *testing.T) {
			for _, mode := range []string{"sigkill-self", "sigterm-default"} {
				m, _ := zoo.Lookup(mode)
				r := runSelfwrapped(t, wrap, nil, 1, mode)
				reps := r.reports(t)
				if r.status != m.ExitCode || len(reps) != 1 || reps[0].Crash.Kind != parse.KindKilled || reps[0].Exit.Code != m.ExitCode {
					t.Errorf("%s: status %d (want %d), reports %d\n%s", mode, r.status, m.ExitCode, len(reps), r.stderr)
				}
			}
		})
	}
}

// TestSelfwrapCleanExitIsNotReported: "panic: not really" and exit 0.
func TestSelfwrapCleanExitIsNotReported(t *testing.T) {
	for _, wrap := range wrapModes {
		t.Run(wrap, func(t *testing.T) {
			r := runSelfwrapped(t, wrap, nil, 0, "not-really")
			time.Sleep(200 * time.Millisecond) // a monitor would have reported by now
			if reps := r.reports(t); r.status != 0 || len(reps) != 0 {
				t.Errorf("status %d, %d reports", r.status, len(reps))
			}
		})
	}
}

// TestSelfwrapSignalsReachTheProgramOnce: each forwarded signal sent to
// the PID the test started reaches the program once, in both modes (in the
// monitor mode the program is that PID; the monitor ignores them).
func TestSelfwrapSignalsReachTheProgramOnce(t *testing.T) {
	for _, wrap := range wrapModes {
		t.Run(wrap, func(t *testing.T) {
			cmd, spool, stderr := selfwrapCmd(t, wrap, nil, "echo-signals")
			stdin, _ := cmd.StdinPipe()
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			checkEchoes(t, cmd.Process, out, stdin)
			if r := finish(t, cmd, spool, stderr, 0); r.status != 0 {
				t.Errorf("status %d\n%s", r.status, r.stderr)
			}
		})
	}
}

// TestSelfwrapStdio: the program's stdin and stdout are the files the test
// gave (the same inodes); its stderr reaches the test byte for byte.
func TestSelfwrapStdio(t *testing.T) {
	dir := t.TempDir()
	in, _ := os.Create(filepath.Join(dir, "in"))
	out, _ := os.Create(filepath.Join(dir, "out"))
	defer in.Close()
	defer out.Close()
	id := func(f *os.File) string {
		var st syscall.Stat_t
		syscall.Fstat(int(f.Fd()), &st)
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	for _, wrap := range wrapModes {
		t.Run(wrap, func(t *testing.T) {
			out.Truncate(0)
			out.Seek(0, io.SeekStart)
			cmd, spool, stderr := selfwrapCmd(t, wrap, nil, "fdinfo")
			cmd.Stdin, cmd.Stdout = in, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := finish(t, cmd, spool, stderr, 0)
			got, _ := os.ReadFile(out.Name())
			want := fmt.Sprintf("0 %s\n1 %s\n", id(in), id(out))
			if r.status != 0 || !strings.HasPrefix(string(got), want) {
				t.Errorf("fds %q, want stdin and stdout %q", got, want)
			}

			const n = 3<<20 + 17
			r = runSelfwrapped(t, wrap, nil, 0, "write-stderr", strconv.Itoa(n), "1000")
			body := bytes.TrimPrefix(r.stderr, []byte(fmt.Sprintf("zoo: pid=%d\n", r.progID)))
			if len(body) != n || strings.Trim(string(body), "x\n") != "" {
				t.Errorf("stderr: %d bytes after the pid line, want %d of the program's", len(body), n)
			}
		})
	}
}

// TestSelfwrapKeepsPanicwrapsProtocol: in the re-exec mode the program
// sees panicwrap.Wrapped(nil) true, as under panicwrap, and its cookie is
// not passed on to its own children.
func TestSelfwrapKeepsPanicwrapsProtocol(t *testing.T) {
	r := runSelfwrapped(t, "reexec", nil, 0, "panicwrapped")
	if r.status != 0 || !bytes.Contains(r.stderr, []byte("panicwrap.Wrapped=true cookie=\"\"")) {
		t.Errorf("status %d\n%s", r.status, r.stderr)
	}
}

// TestSelfwrapExamples builds and runs examples/selfwrap-reexec and
// examples/selfwrap-monitor as the README says: each crashes, exits 2 and
// leaves a report of its mode.
func TestSelfwrapExamples(t *testing.T) {
	bin := t.TempDir()
	build := command(t, goTool(), "build", "-o", bin+"/", "github.com/prodwrap/prodwrap/examples/selfwrap-reexec", "github.com/prodwrap/prodwrap/examples/selfwrap-monitor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tt := range []struct{ wrap, kind, culprit string }{
		{"reexec", "panic", "main.main.func1"},
		{"monitor", "fatal_error", "main.main.func2"},
	} {
		t.Run(tt.wrap, func(t *testing.T) {
			spool := t.TempDir()
			cmd := command(t, filepath.Join(bin, "selfwrap-"+tt.wrap))
			cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool)
			err := cmd.Run()
			reps := reporttest.WaitReports(t, filepath.Join(spool, "reports"), 1, 15*time.Second)
			if code := waitStatus(t, err); code != 2 || len(reps) != 1 {
				t.Fatalf("status %d, %d reports", code, len(reps))
			}
			if r := reps[0]; r.Wrap != tt.wrap || string(r.Crash.Kind) != tt.kind || r.Crash.Culprit == nil || r.Crash.Culprit.Function != tt.culprit {
				t.Errorf("report: wrap %q kind %s culprit %+v", r.Wrap, r.Crash.Kind, r.Crash.Culprit)
			}
		})
	}
}
