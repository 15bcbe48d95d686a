package supervise

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Prepare does the work of a program's first [Child.Start] that does not
// depend on the child, for a caller that runs it in the background while
// the program does other work: os's pidfd probe (at its first
// StartProcess, os forks a child that exits at once, to learn whether
// clone(CLONE_PIDFD) works), the lookup of prodwrap's cgroup counter of OOM
// kills and the first child's baseline of it ([OOMKills]). prodwrap runs it
// while it initialises (package internal/early), beside the libraries'
// initialisation; without it, or before it is done, Start and Wait do the
// same work themselves.
//
// The first child's baseline is then read before its start rather than
// just after (none of its OOM kills can be missed); a later child reads its
// own after its start.
func Prepare() {
	// Nothing here is needed: a failure is met again, and handled, where
	// the work is needed.
	defer func() { _ = recover() }()
	if p, err := os.FindProcess(os.Getpid()); err == nil { // runs os's probe
		_ = p.Release()
	}
	if n, err := OOMKills(0); err == nil {
		prepared.put(n)
	}
}

// prepared holds Prepare's OOM-kill baseline until the first child takes
// it. Once a child looked, a late one is dropped: it would be older than
// the counts later children read.
var prepared preparedBaseline

type preparedBaseline struct {
	mu     sync.Mutex
	n      int
	have   bool
	looked bool
}

func (p *preparedBaseline) put(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.looked {
		p.n, p.have = n, true
	}
}

// take returns the baseline once, if Prepare had read it by then.
func (p *preparedBaseline) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, have := p.n, p.have
	p.looked, p.have = true, false
	return n, have
}

// awaitExit returns once process pid has exited and can be waited for, or
// at once when its exit cannot be polled (a kernel before 5.3, a seccomp
// filter): exec.Cmd.Wait then blocks in waitid(2) from the start.
//
// exec.Cmd.Wait blocks in waitid(2), and a goroutine in a system call
// holds its P until sysmon takes it back, 20 µs to 10 ms later. The
// stderr reader holds another in read(2), by design (stderrPipe), so on a
// machine of two cores the goroutines that become runnable while the
// child runs (the spool's background flush, a log line of prodwrap's)
// would wait for sysmon, and after a short child for its exit. A pidfd is
// readable once the process has exited: the waiter parks in the netpoller
// on it instead, its P free. WNOWAIT leaves the exit to exec.Cmd.Wait.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err == unix.EINVAL { // Linux before 5.10: no flags
		if fd, err = unix.PidfdOpen(pid, 0); err == nil {
			err = unix.SetNonblock(fd, true)
			if err != nil {
				unix.Close(fd)
			}
		}
	}
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: the netpoller's
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		for {
			var info unix.Siginfo
			err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			if err == unix.EINTR {
				continue
			}
			// Done when it exited (si_signo is then SIGCHLD; 0 while it
			// runs) and on any error, which Wait meets and returns.
			return err != nil || info.Signo != 0
		}
	})
}
