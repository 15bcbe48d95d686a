package supervise_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/supervise"
)

func TestExitCodesPassThrough(t *testing.T) {
	for code := 0; code <= 255; code++ {
		c := helperChild(t, "exit", strconv.Itoa(code))
		res, err := c.Run()
		if err != nil {
			t.Fatalf("exit %d: %v", code, err)
		}
		if res.ExitCode != code || res.Signal != 0 {
			t.Errorf("exit %d: got ExitCode %d, Signal %v", code, res.ExitCode, res.Signal)
		}
	}
}

func TestKilledBySignalIs128PlusN(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGSEGV, syscall.SIGABRT, syscall.SIGUSR1} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			c := &supervise.Child{Path: "/bin/sh", Args: []string{"-c", "kill -" + strconv.Itoa(int(sig)) + " $$"}}
			res, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 128+int(sig) || res.Signal != sig {
				t.Errorf("got ExitCode %d Signal %v, want %d %v", res.ExitCode, res.Signal, 128+int(sig), sig)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want int
	}{
		{"not found in PATH", "prodwrap-no-such-command", 127},
		{"no such file", filepath.Join(dir, "missing"), 127},
		{"not executable", notExec, 126},
		{"a directory", dir, 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &supervise.Child{Path: tt.path}
			err := c.Start()
			var se *supervise.StartError
			if !errors.As(err, &se) {
				t.Fatalf("Start: got %v, want a *StartError", err)
			}
			if got := supervise.ExitCode(err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", err, got, tt.want)
			}
			if _, err := c.Wait(); !errors.Is(err, supervise.ErrNotStarted) {
				t.Errorf("Wait after failed Start: got %v, want ErrNotStarted", err)
			}
		})
	}
}

func TestStartTwice(t *testing.T) {
	c := helperChild(t, "exit", "0")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); !errors.Is(err, supervise.ErrStarted) {
		t.Errorf("second Start: got %v, want ErrStarted", err)
	}
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestStderrByteExact(t *testing.T) {
	const size = 64 << 20
	c := helperChild(t, "write-stderr", strconv.Itoa(size), "7")
	var out bytes.Buffer
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Stdout = w
	h := sha256.New()
	var n countWriter
	c.Stderr = io.MultiWriter(h, &n)
	done := make(chan struct{})
	go func() { io.Copy(&out, r); close(done) }()
	res, err := c.Run()
	w.Close()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("helper exited %d", res.ExitCode)
	}
	if n != size {
		t.Errorf("passed through %d bytes, want %d", n, size)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), strings.TrimSpace(out.String()); got != want {
		t.Errorf("stderr SHA-256 %s, child wrote %s", got, want)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func TestRealGoCrashPassesThroughAndIsCaptured(t *testing.T) {
	// The test binary itself panics: a real Go dump from the installed Go.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	direct := exec.Command(exe, "-test.run=^TestPanicsForReal$")
	direct.Env = append(os.Environ(), "SUPERVISE_PANIC=1", "GOTRACEBACK=all")
	var want bytes.Buffer
	direct.Stderr = &want
	_ = direct.Run()
	if !bytes.Contains(want.Bytes(), []byte("panic: for real")) {
		t.Fatalf("helper did not panic:\n%s", want.Bytes())
	}

	var got bytes.Buffer
	c := &supervise.Child{
		Path:    exe,
		Args:    []string{"-test.run=^TestPanicsForReal$"},
		Env:     append(os.Environ(), "SUPERVISE_PANIC=1", "GOTRACEBACK=all"),
		Stderr:  &got,
		Capture: supervise.Capture{StartsDump: startsPanic},
	}
	res, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 {
		t.Errorf("ExitCode = %d, want 2", res.ExitCode)
	}
	// Addresses differ between runs; the shape of the bytes must not.
	if !bytes.Contains(got.Bytes(), []byte("panic: for real")) || !bytes.Contains(got.Bytes(), []byte("goroutine ")) {
		t.Errorf("stderr under supervise lacks the dump:\n%s", got.Bytes())
	}
	if res.Dump == nil {
		t.Fatal("no dump captured")
	}
	defer res.Dump.Close()
	dump, _ := io.ReadAll(res.Dump.Reader())
	i := bytes.Index(got.Bytes(), []byte("panic: for real"))
	if diff := cmp.Diff(string(got.Bytes()[i:]), string(dump)); diff != "" {
		t.Errorf("captured dump is not the stderr from the header on (-passed +captured):\n%s", diff)
	}
}

func TestPanicsForReal(t *testing.T) {
	if os.Getenv("SUPERVISE_PANIC") != "1" {
		t.Skip("helper for TestRealGoCrashPassesThroughAndIsCaptured")
	}
	go func() { panic("for real") }()
	time.Sleep(10 * time.Second)
}

func startsPanic(l []byte) bool { return bytes.HasPrefix(l, []byte("panic: ")) }

func TestStdinStdoutAreInherited(t *testing.T) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c := helperChild(t, "fdinfo")
	c.Stdin, c.Stdout = in, out
	if _, err := c.Run(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	want := ""
	for fd, f := range []*os.File{in, out} {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		want += strconv.Itoa(fd) + " " + strconv.FormatUint(st.Dev, 10) + ":" + strconv.FormatUint(st.Ino, 10) + "\n"
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) < 2 || lines[0]+lines[1] != want {
		t.Errorf("child's fds 0 and 1:\n%s\nwant the same files as given:\n%s", b, want)
	}
}

func TestPanicLookingLineWithExitZero(t *testing.T) {
	var stderr bytes.Buffer
	c := helperChild(t, "print-then-exit0")
	c.Stderr = &stderr
	c.Capture.StartsDump = startsPanic
	res, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("ExitCode = %d, want 0", res.ExitCode)
	}
	if stderr.String() != "panic: not really\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
	// The line is captured — the decision that exit 0 is no crash is the
	// caller's — and nothing more.
	if res.Dump == nil || res.Dump.Size() != int64(len("panic: not really\n")) {
		t.Errorf("Dump = %+v", res.Dump)
	}
}

func TestArgv0IsWhatTheChildSees(t *testing.T) {
	for _, argv0 := range []string{"", "/srv/api"} {
		var stderr bytes.Buffer
		c := helperChild(t, "argv0")
		c.Argv0 = argv0
		c.Stderr = &stderr
		if _, err := c.Run(); err != nil {
			t.Fatal(err)
		}
		want := argv0
		if want == "" {
			want = c.Path
		}
		if got := strings.TrimSpace(stderr.String()); got != want {
			t.Errorf("Argv0 %q: the child's os.Args[0] = %q, want %q", argv0, got, want)
		}
	}
}

func TestStderrWriteFailureKeepsDraining(t *testing.T) {
	c := helperChild(t, "fake-dump", strconv.Itoa(4<<20))
	c.Stderr = failingWriter{}
	c.Capture.StartsDump = startsPanic
	res, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 {
		t.Errorf("ExitCode = %d, want 2", res.ExitCode)
	}
	if res.Dump == nil || res.Dump.Size() < 4<<20 {
		t.Fatalf("dump not captured in full: %+v", res.Dump)
	}
	res.Dump.Close()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// supervisor starts the test binary as a supervisor process (helper
// "supervisor") running helper child with args; stdout is a pipe returned
// line by line.
func supervisor(t *testing.T, env []string, child string, args ...string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := helperCommand(t, "supervisor", append([]string{child}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), in
}

func TestEachSignalForwardedOnce(t *testing.T) {
	for _, group := range []bool{false, true} {
		name, child := "child", "echo-signals"
		env := []string{}
		if group {
			name, child = "grandchild with group option", "spawn-echo"
			env = append(env, "SUPERVISOR_GROUP=1")
		}
		t.Run(name, func(t *testing.T) {
			cmd, lines, stdin := supervisor(t, env, child)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("child did not start: %q %v", lines.Text(), lines.Err())
			}
			for _, s := range signalsUnderTest {
				sig := s.(syscall.Signal)
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if !lines.Scan() {
					t.Fatalf("no echo for %v: %v", sig, lines.Err())
				}
				if got := lines.Text(); got != strconv.Itoa(int(sig)) {
					t.Errorf("sent %v (%d), child echoed %s", sig, sig, got)
				}
			}
			stdin.Close() // the echoer ends on EOF
			var rest []string
			for lines.Scan() {
				rest = append(rest, lines.Text())
			}
			if len(rest) > 0 {
				t.Errorf("signals delivered more than once: extra echoes %q", rest)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("supervisor: %v", err)
			}
		})
	}
}

// After the child exited, Wait no longer reads the caller's channel: a
// signal that arrives then is neither forwarded nor lost, and never has
// Go's default effect on the supervisor; the caller reads it, in order.
func TestSignalsAfterExitStayWithTheCaller(t *testing.T) {
	out, err := helperCommand(t, "late-signals").Output()
	if err != nil {
		t.Fatalf("supervisor: %v (a signal after the exit must not kill it)\n%s", err, out)
	}
	if want := "late [SIGTERM SIGUSR1]\n"; string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

func TestSupervisorSIGKILLTakesChildDown(t *testing.T) {
	cmd, lines, stdin := supervisor(t, nil, "hang")
	defer stdin.Close()
	if !lines.Scan() {
		t.Fatal("child did not start")
	}
	pid, _ := strconv.Atoi(lines.Text())
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d outlived its SIGKILLed supervisor", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

func TestGrandchildHoldingStderrDoesNotHang(t *testing.T) {
	cmd, lines, stdin := supervisor(t, []string{"SUPERVISOR_WAITDELAY=300ms"}, "daemon-holder")
	defer stdin.Close()
	if !lines.Scan() {
		t.Fatal("no grandchild pid")
	}
	pid, _ := strconv.Atoi(lines.Text())
	defer syscall.Kill(pid, syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("supervisor: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("supervisor still running 20s after its child exited; the grandchild's 30s hold keeps it")
	}
	if !processAlive(pid) {
		t.Errorf("grandchild %d is gone; the test proves nothing", pid)
	}
}

// slowWriter takes its time over every write, like a stderr whose reader
// (a terminal, a log shipper under load) is slow.
type slowWriter struct {
	buf   bytes.Buffer
	delay time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	return w.buf.Write(p)
}

func TestSlowStderrLosesNothing(t *testing.T) {
	const size = 8 << 20
	c := helperChild(t, "write-stderr", strconv.Itoa(size), "11")
	r, w, _ := os.Pipe()
	defer r.Close()
	c.Stdout = w
	slow := &slowWriter{delay: 2 * time.Millisecond}
	c.Stderr = slow
	var sum bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&sum, r); close(done) }()
	res, err := c.Run()
	w.Close()
	<-done
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	h := sha256.Sum256(slow.buf.Bytes())
	if slow.buf.Len() != size || hex.EncodeToString(h[:]) != strings.TrimSpace(sum.String()) {
		t.Errorf("through a slow stderr: %d bytes, want %d, same content %v", slow.buf.Len(), size, hex.EncodeToString(h[:]) == strings.TrimSpace(sum.String()))
	}
}

// TestCaptureBugDoesNotStopPassthrough: a panic in the capture (here the
// dump detector) is prodwrap's bug; the child's stderr still passes through
// in full and the exit status still comes back.
func TestCaptureBugDoesNotStopPassthrough(t *testing.T) {
	var log bytes.Buffer
	c := helperChild(t, "fake-dump", strconv.Itoa(1<<20))
	var out countWriter
	c.Stderr = &out
	c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	c.Capture.StartsDump = func([]byte) bool { panic("detector bug") }
	var panics int
	c.OnPanic = func(any) { panics++ }
	res, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 2 || out < 1<<20 {
		t.Errorf("exit %d, %d bytes passed through", res.ExitCode, out)
	}
	if !strings.Contains(log.String(), "detector bug") || !strings.Contains(log.String(), "goroutine ") || panics != 1 {
		t.Errorf("the bug was not logged with its stack and counted once (%d):\n%s", panics, log.String())
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		ws   syscall.WaitStatus
		code int
		sig  syscall.Signal
	}{
		{0, 0, 0},
		{3 << 8, 3, 0},
		{255 << 8, 255, 0},
		{syscall.WaitStatus(syscall.SIGKILL), 137, syscall.SIGKILL},
		{syscall.WaitStatus(syscall.SIGABRT) | 0x80, 134, syscall.SIGABRT}, // dumped core
	}
	for _, tt := range tests {
		if code, sig := supervise.Status(tt.ws); code != tt.code || sig != tt.sig {
			t.Errorf("Status(%#x) = %d, %v; want %d, %v", tt.ws, code, sig, tt.code, tt.sig)
		}
	}
}
