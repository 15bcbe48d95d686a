package selfwrap_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/prodwrap/prodwrap/internal/testhelper"
	"github.com/prodwrap/prodwrap/parse"
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
	// bad-config cannot be wrapped: it runs unwrapped.
	"bad-config": func() int {
		selfwrap.Main(selfwrap.Options{ConfigFile: "/nonexistent/prodwrap.toml"})
		fmt.Println("running")
		return 0
	},
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
	reports := waitReports(spool, 1)
	if len(reports) != 1 || reports[0].Crash.Kind != parse.KindExit || reports[0].Exit.Code != 7 || reports[0].Wrap != "reexec" {
		t.Errorf("reports %+v", reports)
	}
}

func TestMonitorReportsAndKeepsThePID(t *testing.T) {
	_, _, status, pid, spool := helper(t, "monitor-panic")
	if status != 2 {
		t.Errorf("status %d, want 2", status)
	}
	reports := waitReports(spool, 1)
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	r := reports[0]
	if r.Crash.Kind != parse.KindPanic || r.Crash.Message != "helper panics" || r.Command.PID != pid || r.Wrap != "monitor" {
		t.Errorf("report: kind %s message %q pid %d (want %d) wrap %q", r.Crash.Kind, r.Crash.Message, r.Command.PID, pid, r.Wrap)
	}
}

func TestAProgramThatCannotBeWrappedRunsUnwrapped(t *testing.T) {
	out, stderr, status, _, _ := helper(t, "bad-config")
	if status != 0 || out != "running\n" || !strings.Contains(stderr, "/nonexistent/prodwrap.toml") || !strings.Contains(stderr, "running without crash reports") {
		t.Errorf("status %d stdout %q stderr %q", status, out, stderr)
	}
}

// waitReports waits up to 15 s for n reports in the spool's file sink.
func waitReports(spool string, n int) []*parse.Report {
	deadline := time.Now().Add(15 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(spool, "reports", "*.json"))
		if len(names) >= n || time.Now().After(deadline) {
			var out []*parse.Report
			for _, name := range names {
				b, _ := os.ReadFile(name)
				var r parse.Report
				if json.Unmarshal(b, &r) == nil {
					out = append(out, &r)
				}
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}
