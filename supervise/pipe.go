package supervise

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// pipeSize is the size the stderr pipe is grown to: large enough that a
// runtime writing a dump in small writes rarely waits for the reader.
const pipeSize = 1 << 20

// readSize is the size of one read from the stderr pipe.
const readSize = 256 << 10

// The reader's pauses: after a read that had to wait for the child (a
// trickle) it lets the pipe fill for minPause before reading again; while
// each read after a pause finds more (the child writes fast) the pause
// doubles, up to maxPause; a read that fills the buffer halves it and is
// followed by the next read at once, so that a fast child never meets a
// full pipe. maxPause, plus the kernel's timer slack (50 µs by default),
// bounds the delay of any byte on its way to our stderr: well under the
// millisecond of the reliability rules. docs/benchmarks.md ("Passthrough")
// has the measurements they were chosen by.
const (
	minPause = 50 * time.Microsecond
	maxPause = 500 * time.Microsecond
)

// errStopped is returned by stderrPipe.read after stop.
var errStopped = errors.New("supervise: stderr reading stopped")

// stderrPipe is the read side of the child's stderr.
//
// The Go runtime prints a crash dump in writes of a few bytes. A reader
// parked in the netpoller (an *os.File) is woken by every one of them: the
// kernel wakes an epoll waiter at each write into a pipe that epoll
// watches, empty or not, and each read returns a few bytes. So the read end
// is a plain non-blocking descriptor that is never added to epoll. The
// reader waits in poll(2) only when the pipe is empty (a write then wakes
// it at once: a trickle passes through without delay); after a read that
// did not fill its buffer it sleeps batchWait, with no wait queued on the
// pipe, so that the writes meanwhile wake nobody and the next read takes
// them in one batch.
//
// stop, from another goroutine, makes a waiting or sleeping reader return
// errStopped (closing a descriptor does not wake a thread blocked on it):
// it sets a flag and signals an eventfd that both waits include.
//
// It is used by the reader goroutine only, but for stop.
type stderrPipe struct {
	fd       int // the read end, non-blocking, close-on-exec
	wake     int // eventfd written by stop
	stopped  atomic.Bool
	pauseFor time.Duration // the next pause
	waited   bool          // the last read waited for the child
	// waitFds and sleepFds are poll's arguments, kept to not allocate.
	waitFds  [2]unix.PollFd
	sleepFds [1]unix.PollFd
}

// newStderrPipe returns the reader of a new pipe and its write end, for
// the child. The write end stays blocking, as a child expects its stderr.
func newStderrPipe() (*stderrPipe, *os.File, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	closeBoth := func() { unix.Close(fds[0]); unix.Close(fds[1]) }
	if err := unix.SetNonblock(fds[0], true); err != nil {
		closeBoth()
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		closeBoth()
		return nil, nil, os.NewSyscallError("eventfd", err)
	}
	// A failure to grow the pipe costs speed, not correctness.
	_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeSize)
	p := &stderrPipe{fd: fds[0], wake: wake}
	p.waitFds = [2]unix.PollFd{{Fd: int32(fds[0]), Events: unix.POLLIN}, {Fd: int32(wake), Events: unix.POLLIN}}
	p.sleepFds = [1]unix.PollFd{{Fd: int32(wake), Events: unix.POLLIN}}
	// os.NewFile keeps a blocking descriptor out of the netpoller.
	return p, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// read reads what the pipe holds, waiting when it is empty. It returns
// io.EOF when every write end is closed and errStopped after stop.
func (p *stderrPipe) read(buf []byte) (int, error) {
	for {
		if p.stopped.Load() {
			return 0, errStopped
		}
		n, err := unix.Read(p.fd, buf)
		switch {
		case err == nil && n > 0:
			p.adapt(n == len(buf))
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return 0, os.NewSyscallError("read", err)
		}
		p.waited = true
		p.waitFds[0].Revents, p.waitFds[1].Revents = 0, 0
		if _, err := unix.Poll(p.waitFds[:], -1); err != nil && err != unix.EINTR {
			return 0, os.NewSyscallError("poll", err)
		}
	}
}

// adapt sets the next pause after a read, full when it filled the buffer.
func (p *stderrPipe) adapt(full bool) {
	switch {
	case full:
		p.pauseFor /= 2
		if p.pauseFor < minPause {
			p.pauseFor = 0
		}
	case p.waited || p.pauseFor == 0:
		p.pauseFor = minPause
	default:
		p.pauseFor = min(2*p.pauseFor, maxPause)
	}
	p.waited = false
}

// pause lets the pipe fill before the next read, or returns at once after
// a read that filled the buffer; stop cuts it short.
func (p *stderrPipe) pause() {
	if p.pauseFor == 0 {
		return
	}
	ts := unix.NsecToTimespec(int64(p.pauseFor))
	p.sleepFds[0].Revents = 0
	_, _ = unix.Ppoll(p.sleepFds[:], &ts, nil)
}

// stop makes read return errStopped, at once if it waits or sleeps.
func (p *stderrPipe) stop() {
	p.stopped.Store(true)
	one := [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
}

// close releases the descriptors. It is called once the reader returned.
func (p *stderrPipe) close() {
	unix.Close(p.fd)
	unix.Close(p.wake)
}
