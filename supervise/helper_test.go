package supervise_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/internal/testhelper"

	"github.com/prodwrap/prodwrap/supervise"
)

// helperEnv names the helper a re-executed test binary runs (os/exec's
// helper-process pattern).
const helperEnv = "SUPERVISE_TEST_HELPER"

// helpers are the commands the test binary runs as a child. Each returns
// its exit status.
var helpers = map[string]func(args []string) int{
	"exit":             helperExit,
	"kill-self":        helperKillSelf,
	"echo-signals":     func([]string) int { return testhelper.EchoSignals() },
	"write-stderr":     helperWriteStderr,
	"long-line":        helperLongLine,
	"fdinfo":           func([]string) int { return testhelper.FDInfo() },
	"supervisor":       helperSupervisor,
	"spawn-echo":       helperSpawnEcho,
	"daemon-holder":    helperDaemonHolder,
	"hang":             helperHang,
	"spawn-orphans":    helperSpawnOrphans,
	"fake-dump":        helperFakeDump,
	"print-then-exit0": helperPrintThenExit0,
	"argv0":            func([]string) int { fmt.Fprintln(os.Stderr, os.Args[0]); return 0 },
	"late-signals":     helperLateSignals,
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		h, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// helperChild returns a Child that runs helper name with args.
func helperChild(t testing.TB, name string, args ...string) *supervise.Child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &supervise.Child{
		Path: exe,
		Args: args,
		Env:  append(os.Environ(), helperEnv+"="+name),
	}
}

// helperCommand is a guarded exec.Cmd of the test binary as helper name.
func helperCommand(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := testhelper.Command(t, exe, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	return cmd
}

func helperExit(args []string) int {
	code, _ := strconv.Atoi(args[0])
	return code
}

func helperKillSelf(args []string) int {
	n, _ := strconv.Atoi(args[0])
	sig := syscall.Signal(n)
	signal.Reset(sig)
	// The Go runtime turns a synchronous-looking SIGSEGV or SIGABRT into
	// its own crash; raising it with kill from outside the handler's reach
	// needs the default action, which Reset restores for most; for the
	// runtime's own, exit through the runtime's dieFromSignal path.
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(10 * time.Second)
	return 99
}

// helperWriteStderr writes n pseudo-random bytes (seeded by args[1]) to
// stderr in writes of random sizes, then prints their SHA-256 on stdout.
func helperWriteStderr(args []string) int {
	n, _ := strconv.Atoi(args[0])
	seed, _ := strconv.Atoi(args[1])
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, 1+rng.IntN(len(buf)))
		for i := range buf[:k] {
			buf[i] = byte(rng.Uint32())
		}
		if _, err := os.Stderr.Write(buf[:k]); err != nil {
			return 1
		}
		h.Write(buf[:k])
		n -= k
	}
	fmt.Println(hex.EncodeToString(h.Sum(nil)))
	return 0
}

// helperLongLine writes n bytes of 'x' to stderr with no newline.
func helperLongLine(args []string) int {
	n, _ := strconv.Atoi(args[0])
	buf := []byte(strings.Repeat("x", 1<<20))
	for n > 0 {
		k := min(n, len(buf))
		if _, err := os.Stderr.Write(buf[:k]); err != nil {
			return 1
		}
		n -= k
	}
	return 0
}

// helperFakeDump writes a goroutine-dump-shaped stderr of about n bytes,
// headed by a panic line, and exits 2.
func helperFakeDump(args []string) int {
	n, _ := strconv.Atoi(args[0])
	w := bufio.NewWriterSize(os.Stderr, 64<<10)
	fmt.Fprint(w, "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d\n")
	written := 0
	for id := 2; written < n; id++ {
		k, _ := fmt.Fprintf(w, "\ngoroutine %d [chan receive]:\nmain.worker(0xc000010000)\n\t/src/worker.go:42 +0x55\ncreated by main.main in goroutine 1\n\t/src/main.go:20 +0x99\n", id)
		written += k
	}
	w.Flush()
	return 2
}

func helperPrintThenExit0([]string) int {
	fmt.Fprintln(os.Stderr, "panic: not really")
	return 0
}

// helperSupervisor runs helper args[0] (with args[1:]) under a Child as
// prodwrap would, and exits with its status. With SUPERVISOR_RAW=1, args is
// the command line itself. On exit it prints its own peak
// RSS to fd 3 when that is open, as "vmhwm <kB>".
func helperSupervisor(args []string) int {
	exe, _ := os.Executable()
	// Registered once, for the supervisor's whole life, as the watcher does.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, signalsUnderTest...)
	c := &supervise.Child{
		Signals:      sigs,
		Path:         exe,
		Args:         args[1:],
		Env:          append(os.Environ(), helperEnv+"="+args[0]),
		ProcessGroup: os.Getenv("SUPERVISOR_GROUP") == "1",
		Capture:      supervise.Capture{StartsDump: func(l []byte) bool { return strings.HasPrefix(string(l), "panic: ") }},
	}
	if os.Getenv("SUPERVISOR_RAW") == "1" {
		c.Path, c.Args, c.Env = args[0], args[1:], nil
	}
	c.Capture.SpillDir = os.Getenv("SUPERVISOR_SPILL")
	if d := os.Getenv("SUPERVISOR_WAITDELAY"); d != "" {
		c.WaitDelay, _ = time.ParseDuration(d)
	}
	res, err := c.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervisor:", err)
		return supervise.ExitCode(err)
	}
	if res.Dump != nil {
		res.Dump.Close()
	}
	if f := os.NewFile(3, "report"); f != nil {
		fmt.Fprintf(f, "vmhwm %d\ntruncated %v\nforwarded %v\n", vmHWM(), res.OutputTruncated, res.Forwarded)
		if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
			fmt.Fprintf(f, "foreground-is-mine %v\n", pgrp == unix.Getpgrp())
		}
	}
	return res.ExitCode
}

// helperLateSignals runs a child that exits 0, then sends itself SIGTERM
// and SIGUSR1 — which would kill it if they were not caught — and prints
// what its signal channel holds: Wait stopped reading it at the exit, so
// both are there, in order, for the caller.
func helperLateSignals([]string) int {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR1)
	exe, _ := os.Executable()
	c := &supervise.Child{Path: exe, Args: []string{"0"}, Env: append(os.Environ(), helperEnv+"=exit"), Signals: sigs}
	if _, err := c.Run(); err != nil {
		fmt.Println("run:", err)
		return 1
	}
	var names []string
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1} {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			fmt.Println("kill:", err)
			return 1
		}
		names = append(names, unix.SignalName((<-sigs).(syscall.Signal)))
	}
	fmt.Printf("late %v\n", names)
	return 0
}

// vmHWM returns this process's peak resident set size in kB.
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return -1
}

// helperSpawnEcho starts echo-signals as its own child (a grandchild of the
// supervisor) sharing stdout, prints its pid, ignores the signals itself and
// waits for it.
func helperSpawnEcho([]string) int {
	signal.Ignore(signalsUnderTest...)
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=echo-signals")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return 1
	}
	return 0
}

// helperDaemonHolder starts a grandchild that keeps stderr open for 30s
// after this process exits, prints the grandchild's pid, and exits 0.
func helperDaemonHolder([]string) int {
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=hang")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 1
	}
	fmt.Println(cmd.Process.Pid)
	return 0
}

// helperHang prints its pid and sleeps for 30s.
func helperHang([]string) int {
	fmt.Println(os.Getpid())
	time.Sleep(30 * time.Second)
	return 0
}

// helperSpawnOrphans starts n short-lived grandchildren and exits without
// waiting for them, leaving them to be re-parented to the reaper. It waits
// for the orphans to exit before it does, when args[1] is "wait".
func helperSpawnOrphans(args []string) int {
	n, _ := strconv.Atoi(args[0])
	for range n {
		cmd := exec.Command("/bin/sh", "-c", "sleep 0.2")
		if err := cmd.Start(); err != nil {
			return 1
		}
	}
	if len(args) > 1 && args[1] == "linger" {
		time.Sleep(2 * time.Second)
	}
	return 0
}

// signalsUnderTest are the signals a supervisor forwards by default.
var signalsUnderTest = func() []os.Signal {
	out := make([]os.Signal, len(testhelper.Signals))
	for i, s := range testhelper.Signals {
		out[i] = s
	}
	return out
}()
