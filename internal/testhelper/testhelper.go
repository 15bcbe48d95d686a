// Package testhelper holds what the child-process tests of several packages
// share: the helper commands a re-executed test binary runs (os/exec's
// helper-process pattern) and a guarded exec.Cmd in the manner of
// internal/testenv.CommandContext.
package testhelper

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// Signals are the signals prodwrap forwards by default (docs/architecture.md, "Signals").
var Signals = []syscall.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPWR,
}

// EchoSignals prints "ready" and then the number of each signal of Signals
// it gets, one a line, like dumb-init's print_signals. It returns 0 on
// stdin's EOF, 3 after a minute.
func EchoSignals() int {
	c := make(chan os.Signal, 64)
	for _, s := range Signals {
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

// FDInfo prints "fd dev:ino" for fds 0, 1 and 2, one a line.
func FDInfo() int {
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

// Command returns an exec.Cmd with testenv.CommandContext's guards: a
// timeout from the test's deadline, SIGQUIT on timeout so a hung process
// shows its stacks, a grace period, and a failed test when the command was
// started and never waited for.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	timeout := 2 * time.Minute
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok && time.Until(dl)-10*time.Second < timeout {
			timeout = time.Until(dl) - 10*time.Second
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
