package supervise_test

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/supervise"
)

// TestPrepareReadsTheFirstBaseline: Prepare leaves the OOM-kill
// count for the next child, once.
func TestPrepareReadsTheFirstBaseline(t *testing.T) {
	want := ownOOMKills(t)
	supervise.ForgetPrepared() // as in a program that started no child yet
	supervise.Prepare()
	if n, ok := supervise.PreparedBaseline(); !ok || n < want {
		t.Errorf("prepared baseline = %d, %v; want at least %d, true", n, ok, want)
	}
	if n, ok := supervise.PreparedBaseline(); ok {
		t.Errorf("the baseline was taken twice (%d)", n)
	}
	supervise.Prepare() // late: a child looked already
	if n, ok := supervise.PreparedBaseline(); ok {
		t.Errorf("a baseline read after a child looked was kept (%d)", n)
	}
}

// TestTheFirstChildTakesThePreparedBaseline: the first child compares
// the counter with the baseline Prepare read before its start, and a later
// child with its own. A baseline one below the counter stands for an OOM
// kill after Prepare read it: the first child killed by SIGKILL is then
// OOMKilled, the next is not.
func TestTheFirstChildTakesThePreparedBaseline(t *testing.T) {
	n := ownOOMKills(t)
	supervise.SetPreparedBaseline(n - 1)
	t.Cleanup(func() { supervise.PreparedBaseline() })
	for i, want := range []bool{true, false} {
		c := helperChild(t, "kill-self", strconv.Itoa(int(syscall.SIGKILL)))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		res, err := c.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if res.Signal != syscall.SIGKILL || res.OOMKilled != want {
			t.Errorf("child %d: signal %v, OOMKilled %v; want SIGKILL, %v", i+1, res.Signal, res.OOMKilled, want)
		}
	}
}

// TestAwaitExit: it returns once the process has exited, and leaves it
// to be waited for: the status is the process's.
func TestAwaitExit(t *testing.T) {
	cmd := helperCommand(t, "exit", "7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		supervise.AwaitExit(cmd.Process.Pid)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("AwaitExit did not return after the exit")
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("Wait after AwaitExit = %v, want exit status 7", err)
	}
}

// TestAwaitExitWithoutAChild: a pid that names no process, or a process
// that is not prodwrap's child (PID 1), returns at once: Wait meets the
// error and returns it.
func TestAwaitExitWithoutAChild(t *testing.T) {
	for _, pid := range []int{1, 1 << 30} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			supervise.AwaitExit(pid)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("AwaitExit(%d) waits", pid)
		}
	}
}
