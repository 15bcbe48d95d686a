package signals_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/internal/testhelper"
)

// helperCommand is the test binary run as helper name.
func helperCommand(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := testhelper.Command(t, exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	return cmd
}

// helperSaysOK runs helper name and fails the test unless it exits 0
// having printed only "ok".
func helperSaysOK(t *testing.T, name string) {
	t.Helper()
	out, err := helperCommand(t, name).Output()
	if err != nil || string(out) != "ok\n" {
		t.Errorf("helper %s: %v, stdout %q", name, err, out)
	}
}

// waitUntil reports whether cond holds within 5 s, checking every 10 ms
// (for what os/signal delivers a moment later, with no event to wait on).
func waitUntil(cond func() bool) bool {
	for i := 0; i < 500; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// waitClosed reports whether c is closed within d.
func waitClosed(c <-chan struct{}, d time.Duration) bool {
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

// helperStops sends itself each stop signal in turn, with the signals
// owned: the first is a stop request, the second cuts work short, and
// none has Go's default effect (death, or SIGQUIT's goroutine dump).
func helperStops() int {
	s := signals.Register(nil, false, nil)
	ctx, cancel := s.StopContext(context.Background())
	defer cancel()
	abort, cancelAbort := s.AbortContext(context.Background())
	defer cancelAbort()
	for i, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT} {
		syscall.Kill(os.Getpid(), sig)
		switch i {
		case 0:
			if !waitClosed(s.Stopping(), 5*time.Second) || ctx.Err() == nil && !waitClosed(ctx.Done(), time.Second) {
				fmt.Println("the first stop signal did not request a stop")
				return 1
			}
			if s.Stopped() != syscall.SIGHUP {
				fmt.Println("Stopped:", s.Stopped())
				return 1
			}
			if abort.Err() != nil {
				fmt.Println("one stop signal aborted")
				return 1
			}
		case 1:
			if !waitClosed(s.Aborted(), 5*time.Second) || !waitClosed(abort.Done(), time.Second) {
				fmt.Println("the second stop signal did not abort")
				return 1
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // time for a default action to strike, had it been left
	fmt.Println("alive")
	return 0
}

func TestStopSignalsNeverKillProdwrap(t *testing.T) {
	out, err := helperCommand(t, "stops").CombinedOutput()
	if err != nil || string(out) != "alive\n" {
		t.Errorf("helper: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "goroutine ") {
		t.Errorf("a goroutine dump of prodwrap's own:\n%s", out)
	}
}

// helperBrokenPipe writes to a stderr whose reader is gone: with the
// signals owned, the write fails with EPIPE instead of killing the
// process by SIGPIPE (Go's default for fds 1 and 2).
func helperBrokenPipe() int {
	signals.Register(nil, false, nil)
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	r.Close()
	if err := syscall.Dup2(int(w.Fd()), 2); err != nil {
		return 1
	}
	_, err = os.Stderr.Write([]byte("nobody reads this\n"))
	if !errors.Is(err, syscall.EPIPE) {
		fmt.Println("write:", err)
		return 1
	}
	fmt.Println("EPIPE")
	return 0
}

func TestBrokenStderrReturnsEPIPE(t *testing.T) {
	out, err := helperCommand(t, "broken-pipe").Output()
	if err != nil || string(out) != "EPIPE\n" {
		t.Errorf("helper: %v, stdout %q", err, out)
	}
}

// helperChildHolds: while a child runs, the channel is the child's; a
// signal then is not a stop request until the run is handed back with it.
func helperChildHolds() int {
	s := signals.Register(nil, false, nil)
	c := s.Child()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	sig := <-c
	if waitClosed(s.Stopping(), 100*time.Millisecond) {
		fmt.Println("a signal during a child's run was taken as a stop before the run ended")
		return 1
	}
	s.Idle(sig.(syscall.Signal))
	if !waitClosed(s.Stopping(), time.Second) {
		fmt.Println("a stop signal forwarded during the run did not stop")
		return 1
	}
	fmt.Println("ok")
	return 0
}

func TestSignalsDuringAChildRunAreTheChilds(t *testing.T) {
	helperSaysOK(t, "child-holds")
}
