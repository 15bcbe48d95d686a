package supervise

import (
	"io"
	"os"
	"strconv"
	"sync"
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
// doubles, up to maxPause; a read that fills the buffer halves it (below
// minPause, to none), so that a fast child never meets a full pipe. maxPause, plus the kernel's timer slack (50 µs by default),
// bounds the delay of any byte on its way to our stderr: well under the
// millisecond of the reliability rules. docs/benchmarks.md ("Passthrough")
// has the measurements they were chosen by.
const (
	minPause = 50 * time.Microsecond
	maxPause = 500 * time.Microsecond
)

// stderrPipe is the read side of the child's stderr.
//
// The Go runtime prints a crash dump in writes of a few bytes, millions of
// them, so what each write costs the child is what matters. Into a pipe
// that epoll or poll has ever watched, every write also runs the kernel's
// wake-up path, whoever reads (pipe_write wakes readers when the pipe was
// empty or has ever been polled), and a reader parked in the netpoller (an
// *os.File) is woken by each write and reads a few bytes. So the read end
// is a plain blocking descriptor that nothing ever polls: the reader
// blocks in read(2) only when the pipe is empty, and the first write then
// wakes it (a trickle passes through at once); between reads it sleeps for
// a bounded moment (pause) while the pipe fills, and the writes meanwhile
// wake nobody.
//
// A thread blocked in read(2) is woken neither by a close nor by Go's
// signals (they restart the call), so stop, from Wait, sets stopped under
// mu and wakes the reader with a byte written through a write end of the
// pipe's own, opened by /proc/self/fd (the child's may be held by a
// grandchild for ever). The reader holds mu while it handles a read, so
// that once stop returned it touches neither Stderr nor the capture again
// and drops what it read, the wake byte included. When /proc cannot be
// opened the reader stays blocked until the next write or EOF, harmlessly.
type stderrPipe struct {
	fd       int           // the read end, blocking, close-on-exec
	pauseFor time.Duration // the next pause; the reader's alone

	mu      sync.Mutex
	stopped bool
	closed  bool
}

// newStderrPipe returns the reader of a new pipe and its write end, for
// the child. Both ends are blocking, as a child expects its stderr.
func newStderrPipe() (*stderrPipe, *os.File, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	// A failure to grow the pipe costs speed, not correctness.
	_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pipeSize)
	// os.NewFile keeps a blocking descriptor out of the netpoller.
	return &stderrPipe{fd: fds[0]}, os.NewFile(uintptr(fds[1]), "|1"), nil
}

// read reads what the pipe holds, blocking while it is empty. It returns
// io.EOF when every write end is closed.
func (p *stderrPipe) read(buf []byte) (int, error) {
	// Whether this read waits for the child: FIONREAD does not poll the pipe.
	pending, err := unix.IoctlGetInt(p.fd, unix.TIOCINQ) // FIONREAD
	waited := err == nil && pending == 0
	for {
		n, err := unix.Read(p.fd, buf)
		switch {
		case err == nil && n > 0:
			p.adapt(n == len(buf), waited)
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == unix.EINTR:
			continue
		default:
			return 0, os.NewSyscallError("read", err)
		}
	}
}

// adapt sets the next pause after a read: none when it filled the buffer
// (and a shorter one after), the shortest when it waited for the child,
// else twice the last.
func (p *stderrPipe) adapt(full, waited bool) {
	switch {
	case full:
		p.pauseFor /= 2
		if p.pauseFor < minPause {
			p.pauseFor = 0
		}
	case waited || p.pauseFor == 0:
		p.pauseFor = minPause
	default:
		p.pauseFor = min(2*p.pauseFor, maxPause)
	}
}

// pause lets the pipe fill before the next read.
func (p *stderrPipe) pause() {
	if p.pauseFor == 0 {
		return
	}
	ts := unix.NsecToTimespec(int64(p.pauseFor))
	_ = unix.Nanosleep(&ts, nil)
}

// handle locks mu for the reader to handle a read; it returns false,
// unlocked, once stop was called.
func (p *stderrPipe) handle() bool {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return false
	}
	return true
}

// handled unlocks what handle locked.
func (p *stderrPipe) handled() { p.mu.Unlock() }

// stop stops the reader: after it returns, the reader hands nothing on.
func (p *stderrPipe) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.closed {
		return
	}
	// Under mu the reader cannot close p.fd, so the name is still the pipe's.
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(p.fd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	// EAGAIN: the pipe is full, so the reader is not waiting in read.
	_, _ = unix.Write(w, []byte{0})
	unix.Close(w)
}

// close releases the read end; the reader calls it when it stops, Start
// when the child did not start.
func (p *stderrPipe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(p.fd)
	}
}
