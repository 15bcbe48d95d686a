package selfwrap_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitchellh/panicwrap"

	"go.uber.org/goleak"

	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/testhelper"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/selfwrap"
)

// helperEnv names the helper a re-executed test binary runs (os/exec's
// helper-process pattern). The helpers call selfwrap as a program's main
// would; in the re-exec mode the test binary re-executes itself once more,
// and the helper runs again as the program.
const helperEnv = "SELFWRAP_TEST_HELPER"

var helpers = map[string]func() int{
	// monitor-panic wraps itself in the monitor mode and panics.
	"monitor-panic": func() int {
		selfwrap.Main(selfwrap.Options{Mode: selfwrap.Monitor})
		fmt.Fprintf(os.Stderr, "program pid=%d\n", os.Getpid())
		panic("helper panics")
	},
	// reexec-status returns what Wrap says in the watcher, and exits 7 in
	// the program.
	"reexec-status": func() int {
		role, code, err := selfwrap.Wrap(selfwrap.Options{})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		if role == selfwrap.Watcher {
			fmt.Printf("watcher: the program exited %d\n", code)
			return 0
		}
		fmt.Println("program")
		return 7
	},
	// panicwrap-* run the same crashes under panicwrap.Wrap itself, for the
	// comparison; selfwrap-* under selfwrap's re-exec mode. The watcher
	// prints the status it got and what its handler saw.
	"panicwrap-sigkill":    func() int { return underPanicwrap(killSelf) },
	"selfwrap-sigkill":     func() int { return underSelfwrap(killSelf) },
	"panicwrap-fatalerror": func() int { return underPanicwrap(concurrentMapWrites) },
	"selfwrap-fatalerror":  func() int { return underSelfwrap(concurrentMapWrites) },
	// bad-config cannot be wrapped (a configuration error, and strict):
	// it runs unwrapped.
	"bad-config": func() int {
		os.Setenv("PRODWRAP_STRICT", "1")
		selfwrap.Main(selfwrap.Options{ConfigFile: "/nonexistent/prodwrap.toml"})
		fmt.Println("running")
		return 0
	},
	// bad-config-lenient has the same error without strict: it is watched
	// with what is valid (fail-open), and exits 3 to be reported.
	"bad-config-lenient": func() int {
		selfwrap.Main(selfwrap.Options{ConfigFile: "/nonexistent/prodwrap.toml"})
		fmt.Println("running")
		return 3
	},
}

func killSelf() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Second)
}

func concurrentMapWrites() {
	m := map[int]int{}
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				m[i%8] = w
			}
		}()
	}
	time.Sleep(10 * time.Second)
}

func underPanicwrap(crash func()) int {
	handled := false
	status, err := panicwrap.BasicWrap(func(string) { handled = true })
	if err != nil {
		return 1
	}
	if status < 0 && !panicwrap.Wrapped(nil) {
		// panicwrap returns -1 both in the child and for a child a signal
		// killed; Wrapped tells them apart.
		fmt.Printf("status=%d handler=%v\n", status, handled)
		return 0
	}
	if status >= 0 {
		fmt.Printf("status=%d handler=%v\n", status, handled)
		return 0
	}
	crash()
	return 0
}

func underSelfwrap(crash func()) int {
	var kind string
	role, status, err := selfwrap.Wrap(selfwrap.Options{OnReport: func(r *report.Report) { kind = string(r.Crash.Kind) }})
	if err != nil {
		return 1
	}
	if role == selfwrap.Watcher {
		fmt.Printf("status=%d report=%s\n", status, kind)
		return 0
	}
	crash()
	return 0
}

// TestSelfwrapFixesWhatPanicwrapGetsWrong runs the same crashes under
// panicwrap.Wrap and under selfwrap's re-exec mode: panicwrap returns -1
// for a child killed by SIGKILL and does not see a concurrent map write as
// a crash (its handler is not called); selfwrap returns 137 and reports
// kind killed, and returns 2 and reports kind fatal_error.
func TestSelfwrapFixesWhatPanicwrapGetsWrong(t *testing.T) {
	for _, tt := range []struct{ helper, want string }{
		{"panicwrap-sigkill", "status=-1 handler=false\n"},
		{"selfwrap-sigkill", "status=137 report=killed\n"},
		{"panicwrap-fatalerror", "status=2 handler=false\n"},
		{"selfwrap-fatalerror", "status=2 report=fatal_error\n"},
	} {
		out, stderr, status, _, _ := helper(t, tt.helper)
		if status != 0 || out != tt.want {
			t.Errorf("%s: status %d, stdout %q, want %q\n%s", tt.helper, status, out, tt.want, stderr)
		}
	}
}

func TestMain(m *testing.M) {
	// The monitor runs with no arguments and a minimal environment, without
	// helperEnv: like a program's main, the test binary must reach Wrap.
	if os.Getenv("PRODWRAP_SELFWRAP_MONITOR") != "" {
		os.Exit(helpers["monitor-panic"]())
	}
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(helpers[name]())
	}
	goleak.VerifyTestMain(m)
}

func helper(t *testing.T, name string) (out, stderr string, status int, pid int, spool string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spool = t.TempDir()
	errFile := filepath.Join(t.TempDir(), "stderr")
	f, err := os.Create(errFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := testhelper.Command(t, exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+name, "PRODWRAP_SPOOL="+spool)
	cmd.Stderr = f
	b, err := cmd.Output()
	status = cmd.ProcessState.ExitCode()
	if err != nil && status < 0 {
		t.Fatalf("helper %s: %v", name, err)
	}
	e, _ := os.ReadFile(errFile)
	return string(b), string(e), status, cmd.Process.Pid, spool
}

func TestWrapReturnsTheProgramsStatusToTheWatcher(t *testing.T) {
	out, stderr, status, _, spool := helper(t, "reexec-status")
	if status != 0 || out != "program\nwatcher: the program exited 7\n" {
		t.Errorf("status %d, stdout %q\n%s", status, out, stderr)
	}
	reports := reporttest.WaitReports(t, filepath.Join(spool, "reports"), 1, 15*time.Second)
	if len(reports) != 1 || reports[0].Crash.Kind != parse.KindExit || reports[0].Exit.Code != 7 || reports[0].Wrap != "reexec" {
		t.Errorf("reports %+v", reports)
	}
}

func TestMonitorReportsAndKeepsThePID(t *testing.T) {
	_, _, status, pid, spool := helper(t, "monitor-panic")
	if status != 2 {
		t.Errorf("status %d, want 2", status)
	}
	reports := reporttest.WaitReports(t, filepath.Join(spool, "reports"), 1, 15*time.Second)
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	r := reports[0]
	if r.Crash.Kind != parse.KindPanic || r.Crash.Message != "helper panics" || r.Command.PID != pid || r.Wrap != "monitor" {
		t.Errorf("report: kind %s message %q pid %d (want %d) wrap %q", r.Crash.Kind, r.Crash.Message, r.Command.PID, pid, r.Wrap)
	}
}

// A configuration error does not cost the program its reports: it is
// watched with what is valid, and the report names the error.
func TestABadConfigurationFailsOpen(t *testing.T) {
	out, stderr, status, _, spool := helper(t, "bad-config-lenient")
	if status != 3 || out != "running\n" || !strings.Contains(stderr, "/nonexistent/prodwrap.toml") {
		t.Fatalf("status %d stdout %q stderr %q", status, out, stderr)
	}
	reports := reporttest.WaitReports(t, filepath.Join(spool, "reports"), 1, 15*time.Second)
	if len(reports) != 1 || len(reports[0].ConfigErrors) != 1 || !strings.Contains(reports[0].ConfigErrors[0], "/nonexistent/prodwrap.toml") {
		t.Errorf("reports %+v, want one naming the configuration error", reports)
	}
}

func TestAProgramThatCannotBeWrappedRunsUnwrapped(t *testing.T) {
	out, stderr, status, _, _ := helper(t, "bad-config")
	if status != 0 || out != "running\n" || !strings.Contains(stderr, "/nonexistent/prodwrap.toml") || !strings.Contains(stderr, "running without crash reports") {
		t.Errorf("status %d stdout %q stderr %q", status, out, stderr)
	}
}
