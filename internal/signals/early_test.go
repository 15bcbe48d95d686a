package signals_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/supervise"
)

// helperEarlyTaken: a stop signal that came between Early and Register is
// a stop request, and Register's set keeps what Early caught: a forwarded
// signal reaches the child's channel.
func helperEarlyTaken() int {
	signals.Early(nil)
	signals.Early(nil) // a second call does nothing
	<-signals.EarlyRegistered()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	s := signals.Register(supervise.DefaultSignals, false, nil)
	if !waitClosed(s.Stopping(), 5*time.Second) || s.Stopped() != syscall.SIGTERM {
		fmt.Println("the SIGTERM that came before Register was not a stop request")
		return 1
	}
	c := s.Child()
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case sig := <-c:
		if sig != syscall.SIGUSR1 {
			fmt.Println("read", sig)
			return 1
		}
	case <-time.After(5 * time.Second):
		fmt.Println("a forwarded signal did not reach the child's channel")
		return 1
	}
	fmt.Println("ok")
	return 0
}

func TestEarlySignalsAreTakenOver(t *testing.T) {
	helperSaysOK(t, "early-taken")
}

// helperEarlyNarrowed: Register with a forward list that leaves out a
// signal Early caught gives it Go's default back. Of the two that came
// before Register, the one left out (USR1) is raised again with that
// default (nothing happens) and the one kept (USR2) stays for the owner,
// whose idle reader logs it; a USR1 after Register is not read either.
func helperEarlyNarrowed() int {
	signals.Early(nil)
	<-signals.EarlyRegistered()
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	if !waitUntil(func() bool { return signals.EarlyQueued() >= 2 }) { // os/signal delivers them a moment later
		fmt.Println("the signals sent after Early did not wait on its channel")
		return 1
	}
	var log safeBuffer
	s := signals.Register([]os.Signal{syscall.SIGUSR2}, false, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if !waitUntil(func() bool { return strings.Contains(log.String(), "signal=SIGUSR2") }) {
		fmt.Println("the kept signal that came before Register was not read:", log.String())
		return 1
	}
	c := s.Child()
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case sig := <-c:
		fmt.Println("a signal left out of the set reached the channel:", sig)
		return 1
	case <-time.After(100 * time.Millisecond): // time for a delivery, had it stayed registered
	}
	if strings.Contains(log.String(), "SIGUSR1") {
		fmt.Println("the signal left out was read:", log.String())
		return 1
	}
	fmt.Println("ok")
	return 0
}

func TestEarlySignalsLeftOutGetTheirDefaultBack(t *testing.T) {
	helperSaysOK(t, "early-narrowed")
}

// safeBuffer is a bytes.Buffer for a writer goroutine and a reader.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
