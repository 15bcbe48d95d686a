// Package e2e holds prodwrap's end-to-end tests: they build the real binary,
// run real programs under it (the crash zoo of internal/zoo and the helper
// commands below) and read what real receivers got.
//
// Scenarios that read best as shell sessions are txtar scripts in
// testdata/script, run by rogpeppe/go-internal's testscript; the ones that
// loop or measure are Go tests.
package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestMain dispatches the helper commands (os/exec's helper-process pattern,
// through testscript.Main, which copies the test binary under each command's
// name into a directory it puts first on PATH, for scripts and Go tests alike).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"exitwith":    func() { os.Exit(helperExit()) },
		"echosignals": func() { os.Exit(helperEchoSignals()) },
		"hang":        func() { os.Exit(helperHang()) },
		"catstdin":    func() { os.Exit(helperCat()) },
		"fdinfo":      func() { os.Exit(helperFDInfo()) },
	})
}

// helperExit (exitwith CODE [TEXT...]) exits with the status given as its argument, after writing the
// rest of its arguments to stderr.
func helperExit() int {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: exit CODE [STDERR-TEXT...]")
		return 2
	}
	code, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "exit: %v\n", err)
		return 2
	}
	for _, s := range os.Args[2:] {
		fmt.Fprintln(os.Stderr, s)
	}
	return code
}

// forwardedSignals are the signals prodwrap forwards (design.md, issue 2).
var forwardedSignals = []syscall.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPWR,
}

// helperEchoSignals (echosignals) prints "ready", then the number of each signal it gets,
// one a line, like dumb-init's print_signals; it exits 0 on stdin's EOF or
// after a minute.
func helperEchoSignals() int {
	c := make(chan os.Signal, 64)
	for _, s := range forwardedSignals {
		signal.Notify(c, s)
	}
	fmt.Println("ready")
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	deadline := time.After(time.Minute)
	for {
		select {
		case s := <-c:
			fmt.Println(int(s.(syscall.Signal)))
		case <-eof:
			return 0
		case <-deadline:
			return 3
		}
	}
}

// helperHang (hang) prints "ready" and sleeps for up to a minute; signals keep
// their default action, so SIGTERM kills it.
func helperHang() int {
	fmt.Println("ready")
	time.Sleep(time.Minute)
	return 4
}

// helperCat (catstdin) copies stdin to stdout.
func helperCat() int {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "cat: %v\n", err)
		return 1
	}
	return 0
}

// helperFDInfo (fdinfo) prints the device and inode of its fds 0, 1 and 2, one a line.
func helperFDInfo() int {
	for fd := 0; fd < 3; fd++ {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			fmt.Printf("%d error %v\n", fd, err)
			continue
		}
		fmt.Printf("%d %d:%d\n", fd, st.Dev, st.Ino)
	}
	return 0
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// prodwrapBin builds the real prodwrap binary once per test run (with the
// race detector when the tests run with it) and returns its path.
func prodwrapBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "prodwrap-e2e-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", filepath.Join(buildDir, "prodwrap")}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/prodwrap/prodwrap/cmd/prodwrap")
		out, err := exec.Command(goTool(), args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build prodwrap: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "prodwrap")
}

func goTool() string { return zoo.GoTool() }

// command is testenv.CommandContext's idea in small: the command gets a
// deadline from the test, SIGQUIT on timeout so a hung child shows its
// stacks, a grace period, and the test fails if it was never waited for.
func command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout(t))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	t.Cleanup(func() {
		cancel()
		if cmd.Process != nil && cmd.ProcessState == nil {
			t.Errorf("command %s was started and never waited for", cmd)
		}
	})
	return cmd
}

func testTimeout(t testing.TB) time.Duration {
	d := 2 * time.Minute
	if tt, ok := t.(*testing.T); ok {
		if dl, ok := tt.Deadline(); ok {
			if left := time.Until(dl) - 10*time.Second; left < d {
				d = left
			}
		}
	}
	return d
}

// exitCode returns the exit status of a waited-for command, or fails the
// test when the command did not run to an exit.
func exitCode(t testing.TB, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("command did not exit normally: %v", err)
	return -1
}

func runtimeGOARCH() string { return runtime.GOARCH }
