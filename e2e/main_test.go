// Package e2e holds prodwrap's end-to-end tests: they build the real binary,
// run real programs under it (the crash zoo of internal/zoo and the helper
// commands below) and read what real receivers got.
//
// Scenarios that read best as shell sessions are txtar scripts in
// testdata/script, run by rogpeppe/go-internal's testscript; the ones that
// loop or measure are Go tests.
package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/prodwrap/prodwrap/internal/testhelper"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestMain dispatches the helper commands (os/exec's helper-process pattern,
// through testscript.Main, which copies the test binary under each command's
// name into a directory it puts first on PATH, for scripts and Go tests alike).
func TestMain(m *testing.M) {
	zoo.RedirectCoverage()
	testscript.Main(m, map[string]func(){
		"exitwith":    func() { os.Exit(helperExit()) },
		"echosignals": func() { os.Exit(testhelper.EchoSignals()) },
		"hang":        func() { os.Exit(helperHang()) },
		"catstdin":    func() { os.Exit(helperCat()) },
		"fdinfo":      func() { os.Exit(testhelper.FDInfo()) },
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

// forwardedSignals are the signals prodwrap forwards.
var forwardedSignals = testhelper.Signals

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
		args = append(args, zoo.CoverFlags()...)
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

// command is testhelper.Command: a guarded exec.Cmd.
func command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	return testhelper.Command(t, name, args...)
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
