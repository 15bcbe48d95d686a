package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// run is one run of the real prodwrap binary.
type run struct {
	code   int
	stdout []byte
	stderr []byte
	spool  string
}

// reports returns the reports the file sink wrote.
func (r run) reports(t *testing.T) []*report.Report {
	t.Helper()
	return reporttest.Reports(t, filepath.Join(r.spool, "reports"))
}

// prodwrap runs the real binary with args, a fresh spool and the given
// extra environment.
func prodwrap(t *testing.T, stdin []byte, env []string, args ...string) run {
	t.Helper()
	spool := t.TempDir()
	cmd := command(t, prodwrapBin(t), args...)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool, "PRODWRAP_LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	return run{code: exitCode(t, err), stdout: stdout.Bytes(), stderr: stderr.Bytes(), spool: spool}
}

func helperPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("helper %s not on PATH: %v", name, err)
	}
	return p
}

func TestExitCodesPropagate(t *testing.T) {
	exitwith := helperPath(t, "exitwith")
	for code := 0; code <= 255; code++ {
		r := prodwrap(t, nil, []string{"PRODWRAP_FILE=false", "PRODWRAP_WEBHOOK_URL="}, "--", exitwith, strconv.Itoa(code))
		if r.code != code {
			t.Fatalf("child exited %d, prodwrap %d\n%s", code, r.code, r.stderr)
		}
	}
}

func TestKilledChildGives128PlusN(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR, syscall.SIGKILL} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			// sleep keeps every default disposition; prodwrap forwards
			// what it gets, and SIGKILL is sent to the child directly.
			spool := t.TempDir()
			cmd := command(t, prodwrapBin(t), "--", "/bin/sh", "-c", "echo $$; exec sleep 30")
			cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			if !sc.Scan() {
				t.Fatal("child did not start")
			}
			childPID, _ := strconv.Atoi(sc.Text())
			time.Sleep(50 * time.Millisecond) // let sh exec sleep
			target := cmd.Process.Pid
			if sig == syscall.SIGKILL {
				target = childPID
			}
			syscall.Kill(target, sig)
			code := exitCode(t, cmd.Wait())
			if code != 128+int(sig) {
				t.Errorf("prodwrap exited %d, want %d\n%s", code, 128+int(sig), stderr.Bytes())
			}
			r := run{spool: spool}
			reps := r.reports(t)
			if len(reps) != 1 || reps[0].Crash.Kind != parse.KindKilled || reps[0].Exit.Signal == nil || *reps[0].Exit.Signal != unix.SignalName(sig) {
				t.Errorf("want one report of kind killed by %v, got %+v", sig, reps)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"not found", []string{"--", "prodwrap-no-such-command"}, 127},
		{"not executable", []string{"--", notExec}, 126},
		{"bad flag", []string{"--no-such-flag", "--", "true"}, 125},
		{"bad config value", []string{"--drain-timeout", "soon", "--", "true"}, 125},
		{"no command", nil, 125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := prodwrap(t, nil, nil, tt.args...)
			if r.code != tt.want {
				t.Errorf("exit %d, want %d\n%s", r.code, tt.want, r.stderr)
			}
			if lines := strings.Count(strings.TrimSpace(string(r.stderr)), "\n"); lines != 0 || !strings.HasPrefix(string(r.stderr), "prodwrap: ") {
				t.Errorf("want one clear line on stderr, got %q", r.stderr)
			}
		})
	}
}

func TestSignalsReachTheChildOnce(t *testing.T) {
	cmd := command(t, prodwrapBin(t), "--", helperPath(t, "echosignals"))
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir())
	out, _ := cmd.StdoutPipe()
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	checkEchoes(t, cmd.Process, out, in)
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// checkEchoes sends each forwarded signal to p and expects the echo-signals
// helper reading stdin and printing on out to get it once: one echo each,
// in order, and none more once stdin is closed.
func checkEchoes(t *testing.T, p *os.Process, out io.Reader, stdin io.Closer) {
	t.Helper()
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("no ready line: %q", sc.Text())
	}
	for _, sig := range forwardedSignals {
		p.Signal(sig)
		if !sc.Scan() {
			t.Fatalf("no echo for %v", sig)
		}
		if got := sc.Text(); got != strconv.Itoa(int(sig)) {
			t.Fatalf("sent %v, the child got %s", sig, got)
		}
	}
	stdin.Close()
	var extra []string
	for sc.Scan() {
		extra = append(extra, sc.Text())
	}
	if len(extra) > 0 {
		t.Errorf("signals delivered twice: %q", extra)
	}
}

func TestSIGQUITDumpIsReported(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	spool := t.TempDir()
	cmd := command(t, prodwrapBin(t), "--", crasher, "hang")
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatal("crasher not ready")
	}
	cmd.Process.Signal(syscall.SIGQUIT)
	if code := exitCode(t, cmd.Wait()); code != 2 {
		t.Errorf("exit %d, want 2 (the Go runtime's status after a SIGQUIT dump)", code)
	}
	reps := run{spool: spool}.reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports\n%s", len(reps), stderr.Bytes())
	}
	c := reps[0].Crash
	if c.Kind != parse.KindSigquit || c.Goroutine == nil || len(c.Goroutine.Frames) == 0 || c.Goroutines < 2 {
		t.Errorf("report: kind %s goroutines %d first %+v", c.Kind, c.Goroutines, c.Goroutine)
	}
}

func TestStdioPassThrough(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.Read(data)
	r := prodwrap(t, data, nil, "--", helperPath(t, "catstdin"))
	if r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Errorf("stdin→stdout through prodwrap: exit %d, %d bytes out of %d, equal %v", r.code, len(r.stdout), len(data), bytes.Equal(r.stdout, data))
	}
}

func TestStdinStdoutAreTheSameFiles(t *testing.T) {
	dir := t.TempDir()
	in, _ := os.Create(filepath.Join(dir, "in"))
	out, _ := os.Create(filepath.Join(dir, "out"))
	defer in.Close()
	defer out.Close()
	cmd := command(t, prodwrapBin(t), "--", helperPath(t, "fdinfo"))
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir())
	cmd.Stdin, cmd.Stdout = in, out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	for fd, f := range []*os.File{in, out} {
		var st syscall.Stat_t
		syscall.Fstat(int(f.Fd()), &st)
		want := fmt.Sprintf("%d %d:%d", fd, st.Dev, st.Ino)
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("child's fd %d is not prodwrap's: want %q in\n%s", fd, want, b)
		}
	}
}

func TestStderrOfARealCrashIsUnchanged(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	m, _ := zoo.Lookup("many-goroutines")
	direct := zoo.Run(t, m)
	r := prodwrap(t, nil, []string{"GOTRACEBACK=all"}, "--", crasher, "many-goroutines", "200")
	if r.code != 2 {
		t.Fatalf("exit %d", r.code)
	}
	// Addresses and timings differ between two runs; everything else of
	// the child's stderr must arrive, in order, before prodwrap's summary.
	got := string(r.stderr)
	summary := strings.Index(got, "prodwrap: crasher crashed")
	if summary < 0 {
		t.Fatalf("no summary:\n%s", got)
	}
	childPart := got[:summary]
	if strings.Count(childPart, "\ngoroutine ") != strings.Count(string(direct.Stderr), "\ngoroutine ") {
		t.Errorf("goroutine sections: %d under prodwrap, %d direct", strings.Count(childPart, "\ngoroutine "), strings.Count(string(direct.Stderr), "\ngoroutine "))
	}
	if len(childPart) < len(direct.Stderr)*9/10 || len(childPart) > len(direct.Stderr)*11/10 {
		t.Errorf("stderr under prodwrap is %d bytes, direct %d", len(childPart), len(direct.Stderr))
	}
}

func TestCleanExitIsNeverReported(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	r := prodwrap(t, nil, nil, "--", crasher, "not-really")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if string(r.stderr) != "panic: not really\n" {
		t.Errorf("stderr = %q, want the child's line only", r.stderr)
	}
	if reps := r.reports(t); len(reps) != 0 {
		t.Errorf("a clean exit produced %d reports", len(reps))
	}
}

func TestReceiverDownKeepsExitCodeAndSaysSo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	secret := "http://" + addr + "/hooks/very-secret-token"
	crasher := zoo.Build(t, zoo.Plain)
	r := prodwrap(t, nil, []string{"PRODWRAP_WEBHOOK_URL=" + secret, "PRODWRAP_DEADLINE=1s"}, "--", crasher, "exit", "7")
	if r.code != 7 {
		t.Errorf("exit %d, want the child's 7", r.code)
	}
	if !bytes.Contains(r.stderr, []byte("not delivered")) {
		t.Errorf("the delivery failure is not said on stderr:\n%s", r.stderr)
	}
	if bytes.Contains(r.stderr, []byte("very-secret-token")) {
		t.Errorf("stderr leaks the webhook URL:\n%s", r.stderr)
	}
	pending, _ := filepath.Glob(filepath.Join(r.spool, "pending", "*.json"))
	if len(pending) != 1 {
		t.Errorf("spool holds %d entries, want the undelivered report", len(pending))
	}
}

// TestZooUnderProdwrap runs every crash zoo mode under the real binary and
// reads the report the file sink wrote.
func TestZooUnderProdwrap(t *testing.T) {
	for _, m := range zoo.Modes {
		t.Run(m.Name, func(t *testing.T) {
			if m.Name == "hang" {
				t.Skip("covered by TestSIGQUITDumpIsReported")
			}
			if m.Flavor() == zoo.Race && !raceSupported() {
				t.Skip("race detector unavailable")
			}
			bin := zoo.Build(t, m.Flavor())
			args := append([]string{"--", bin, m.Program()}, m.Args...)
			r := prodwrap(t, nil, m.Env, args...)
			if r.code != m.ExitCode {
				t.Errorf("exit %d, want %d\n%s", r.code, m.ExitCode, r.stderr)
			}
			reps := r.reports(t)
			if m.Kind == "" {
				if len(reps) != 0 {
					t.Errorf("%d reports for a clean exit", len(reps))
				}
				return
			}
			if len(reps) != 1 {
				t.Fatalf("%d reports\n%s", len(reps), r.stderr)
			}
			rep := reps[0]
			if string(rep.Crash.Kind) != m.Kind || !strings.HasPrefix(rep.Crash.Message, m.Message) {
				t.Errorf("report kind %s message %q, want %s %q", rep.Crash.Kind, rep.Crash.Message, m.Kind, m.Message)
			}
			if rep.Exit.Code != m.ExitCode || rep.Host.Hostname == "" || rep.Time.IsZero() || rep.Build.MainModule != "github.com/prodwrap/prodwrap" {
				t.Errorf("report exit %d host %q time %v build %+v", rep.Exit.Code, rep.Host.Hostname, rep.Time, rep.Build)
			}
			if m.TopFunction != "" && (rep.Crash.TopFrame == nil || rep.Crash.TopFrame.Function != m.TopFunction) {
				t.Errorf("top frame %+v, want %s", rep.Crash.TopFrame, m.TopFunction)
			}
			if !bytes.Contains(r.stderr, []byte("prodwrap: report ")) {
				t.Errorf("no summary on stderr:\n%s", r.stderr)
			}
		})
	}
}

func raceSupported() bool {
	return runtimeGOARCH() == "amd64" || runtimeGOARCH() == "arm64"
}

// TestRealDumpPassesThroughByteExact: a real Go crash dump, saved by the
// child itself and then written to its stderr, reaches prodwrap's stderr
// unchanged, byte for byte, before prodwrap's own lines.
func TestRealDumpPassesThroughByteExact(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	saved := filepath.Join(t.TempDir(), "dump.txt")
	script := fmt.Sprintf("GOTRACEBACK=all %s many-goroutines 300 2>%s; cat %s >&2; exit 2", crasher, saved, saved)
	r := prodwrap(t, nil, nil, "--", "/bin/sh", "-c", script)
	if r.code != 2 {
		t.Fatalf("exit %d", r.code)
	}
	want, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 10000 || !bytes.HasPrefix(r.stderr, want) {
		t.Fatalf("prodwrap's stderr does not start with the child's %d bytes exactly", len(want))
	}
	if rest := r.stderr[len(want):]; !bytes.HasPrefix(rest, []byte("prodwrap: sh crashed (panic): 300 goroutines are waiting")) {
		t.Errorf("after the child's bytes: %q", rest[:min(len(rest), 200)])
	}
}

// TestDumpLargerThanTheCapKeepsItsHead: a dump beyond max_dump is cut, and
// what is kept is its head — the header and the crashing goroutine.
func TestDumpLargerThanTheCapKeepsItsHead(t *testing.T) {
	crasher := zoo.Build(t, zoo.Plain)
	r := prodwrap(t, nil, []string{"GOTRACEBACK=all", "PRODWRAP_MAX_DUMP=256KiB", "PRODWRAP_MEMORY_DUMP=64KiB"}, "--", crasher, "many-goroutines", "3000")
	if r.code != 2 {
		t.Fatalf("exit %d", r.code)
	}
	reps := r.reports(t)
	if len(reps) != 1 {
		t.Fatalf("%d reports", len(reps))
	}
	c := reps[0].Crash
	if c.Kind != parse.KindPanic || c.Message != "3000 goroutines are waiting" || !c.Truncated || c.Goroutines >= 3001 || c.TopFrame == nil {
		t.Errorf("kind %s message %q truncated %v goroutines %d top %+v", c.Kind, c.Message, c.Truncated, c.Goroutines, c.TopFrame)
	}
}
