// Command pipefloor is the passthrough benchmarks' floor of any wrapper
// that puts a pipe between a child and the child's destination: it runs
// the command with stderr into a pipe (1 MiB, blocking, never polled) and
// moves what arrives to its own stderr with splice(2), which copies
// nothing into user space — no wrapper that reads the bytes (to look for a
// crash, to keep a tail) can do less. What remains is the child's own
// cost of writing into a pipe rather than into its destination.
//
// Two workloads have two floors, and the benchmarks use the one that fits:
// by default it splices at once whatever arrives, the least a fast writer
// can be made to wait (1 GiB in 4 KiB writes); with -lazy it sleeps 500 µs
// after two splices in a row of less than 64 KiB each, so that a child's
// few-byte writes (a Go dump) find the pipe non-empty and wake nobody — a
// reader blocked on an empty pipe is woken by every write.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

func main() {
	lazy := flag.Bool("lazy", false, "sleep between small splices")
	flag.Parse()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		fail(err)
	}
	_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, 1<<20)
	w := os.NewFile(uintptr(fds[1]), "|1")
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, w
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		smallBefore := false
		for {
			n, err := unix.Splice(fds[0], nil, 2, nil, 1<<20, unix.SPLICE_F_MOVE)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if n == 0 || err != nil {
				return
			}
			small := n < 64<<10
			if *lazy && small && smallBefore {
				_ = unix.Nanosleep(&unix.Timespec{Nsec: 500_000}, nil)
			}
			smallBefore = small
		}
	}()
	err := cmd.Wait()
	<-done
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pipefloor:", err)
	os.Exit(125)
}
