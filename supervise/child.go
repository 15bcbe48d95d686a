package supervise

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultSignals are the signals forwarded to the child when Child.Forward
// is nil: the ones a service manager or a person at a terminal sends to
// ask a service something (stop, reload, reopen logs, job control).
var DefaultSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPWR,
}

// CanForward returns nil for a signal prodwrap may forward, and otherwise
// an error saying why it never is, whatever Child.Forward says: SIGKILL
// and SIGSTOP cannot be caught, SIGCHLD is about prodwrap's own children,
// SIGURG is the Go runtime's preemption signal, SIGPIPE prodwrap's own
// broken pipe, the fault signals are raised by the faulting thread, and
// 32 and 33 belong to the C library's threads. It is the one list;
// configuration checks against it.
func CanForward(sig os.Signal) error {
	why := ""
	switch sig {
	case syscall.SIGKILL, syscall.SIGSTOP:
		why = "no process can catch it"
	case syscall.SIGCHLD:
		why = "it tells prodwrap that the child changed state"
	case syscall.SIGURG:
		why = "the Go runtime preempts goroutines with it"
	case syscall.SIGPIPE:
		why = "it is raised by prodwrap's own writes to a broken pipe"
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS:
		why = "it is a fault signal, raised by the faulting thread itself"
	case syscall.Signal(32), syscall.Signal(33):
		why = "the C library's threads use it"
	default:
		return nil
	}
	name := fmt.Sprint(sig)
	if n, ok := sig.(syscall.Signal); ok && unix.SignalName(n) != "" {
		name = unix.SignalName(n)
	} else if ok {
		name = fmt.Sprintf("signal %d", int(n))
	}
	return fmt.Errorf("%s cannot be forwarded: %s", name, why)
}

// DefaultWaitDelay is how long Wait keeps draining stderr after the child
// exited when Child.WaitDelay is zero.
const DefaultWaitDelay = 2 * time.Second

// Child runs one command with prodwrap's I/O, signal and exit-status rules.
// Set its fields, then call Start and Wait (or Run). A Child runs once.
type Child struct {
	// Path is the command to run. A name without a slash is looked up in
	// PATH, as exec.Command does.
	Path string
	// Args are the command's arguments, not including the program name.
	Args []string
	// Argv0 is the program name the child sees as its argv[0]; "" means
	// Path as given. A program that re-executes itself keeps its name.
	Argv0 string
	// Env is the child's environment; nil means prodwrap's own.
	Env []string
	// Dir is the child's working directory; "" means prodwrap's.
	Dir string

	// Stdin and Stdout are given to the child as they are: the child
	// inherits the file descriptors. nil means os.Stdin and os.Stdout.
	Stdin, Stdout *os.File

	// Stderr receives the child's stderr, byte for byte, each read written
	// at once. nil means os.Stderr. When writing fails, the child's stderr
	// is still drained and captured; the first error is logged.
	Stderr io.Writer

	// Signals is where the caller receives prodwrap's signals. The caller
	// registered them with signal.Notify once, for its whole life:
	// supervise never registers or unregisters a signal, so there is no
	// moment at which a signal has Go's default effect on prodwrap. While
	// the child runs, Wait forwards each signal received on Signals that
	// Forward lists, a SIGCHLD wakes the reaper, and the others are only
	// recorded (Result.Received). Wait stops reading at the child's exit:
	// what arrives later stays on the channel, in order, for the caller.
	// nil means no signal is forwarded.
	Signals <-chan os.Signal

	// Forward lists the signals that Wait forwards of those received on
	// Signals. nil means DefaultSignals; an empty list forwards none. The
	// signals CanForward refuses are never forwarded, whatever it says.
	Forward []os.Signal

	// ProcessGroup sends forwarded signals to the child's whole process
	// group (tini -g), reaching the grandchildren too. The default signals
	// only the child.
	ProcessGroup bool

	// Subreaper makes prodwrap a child subreaper (PR_SET_CHILD_SUBREAPER)
	// so that orphaned descendants are re-parented to it and reaped. As
	// PID 1 prodwrap reaps orphans whatever this says.
	Subreaper bool

	// WaitDelay bounds how long Wait keeps reading stderr after the child
	// exited, for grandchildren that hold it open. 0 means DefaultWaitDelay.
	WaitDelay time.Duration

	// Capture says what is kept of stderr for the report.
	Capture Capture

	// Logger receives prodwrap's own messages about the child (forwarded
	// signals, stderr write errors). nil discards them.
	Logger *slog.Logger

	// OnPanic, when set, is called with the value of each panic of
	// prodwrap's own code that the Child recovered from (in the capture,
	// the stderr writer, the reaper): bugs, logged with their stack, that
	// must not take the child down. It is called from the goroutine that
	// recovered.
	OnPanic func(v any)

	cmd     *exec.Cmd
	started time.Time
	capture *capturer
	// captureBroken is set by the reader goroutine when the capture
	// panicked; Wait reads it after the reader stopped.
	captureBroken bool
	readDone      chan error
	pr            *stderrPipe
	reaper        *reaper
	ttyFd         int // the terminal whose foreground group the child got, or -1
	// forwarded and received are appended to by the loop in wait only.
	forwarded, received []syscall.Signal
	// oomBefore is the cgroup's OOM-kill count at the start, when
	// oomKnown (it cannot be read without a visible memory cgroup).
	oomBefore int
	oomKnown  bool
	waitOnce  sync.Once
	result    *Result
	waitErr   error
}

// Result describes how the child ended.
type Result struct {
	// PID is the child's process id.
	PID int
	// ExitCode is the status prodwrap returns: the child's exit code, or
	// 128+N when signal N killed it.
	ExitCode int
	// Signal is the signal that killed the child, 0 when it exited.
	Signal syscall.Signal
	// CoreDumped reports whether the kernel wrote a core dump.
	CoreDumped bool
	// Started and Ended bracket the child's run.
	Started, Ended time.Time
	// Tail holds the last lines written before the dump (before the exit
	// when there was no dump), oldest first, without their newlines.
	Tail []string
	// Dump is the captured crash dump, nil when no line started one. The
	// caller closes it.
	Dump *Dump
	// OutputTruncated is true when stderr was still open WaitDelay after
	// the child exited (a grandchild holds it) and reading stopped: what
	// was written after that is neither passed through nor captured.
	OutputTruncated bool
	// OOMKilled is true when the child was killed by SIGKILL and the
	// memory cgroup prodwrap and the child share counted an OOM kill
	// during the run (see OOMKills).
	OOMKilled bool
	// Forwarded lists the signals forwarded to the child, in order.
	Forwarded []syscall.Signal
	// Received lists the signals received on Child.Signals during the run
	// that were not forwarded (not in Child.Forward), in order; SIGCHLD is
	// not listed.
	Received []syscall.Signal
}

// Uptime is how long the child ran.
func (r *Result) Uptime() time.Duration { return r.Ended.Sub(r.Started) }

// Exit statuses prodwrap returns for itself, the conventions of env,
// timeout, chroot and docker run (docs/architecture.md, "Exit status").
const (
	// ExitFailure: prodwrap itself failed before the child ran.
	ExitFailure = 125
	// ExitNotExecutable: the command was found but could not be executed.
	ExitNotExecutable = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
)

// StartError is returned by Start when the command could not be started.
// Code is the exit status prodwrap returns for it: 127 when the command was
// not found, 126 when it was found but could not be executed, 125 otherwise.
type StartError struct {
	Path string
	Code int
	Err  error
}

func (e *StartError) Error() string { return fmt.Sprintf("cannot start %s: %v", e.Path, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// ExitCode maps an error of Start or Wait to prodwrap's exit status: the
// StartError's code, or 125 for any other failure of prodwrap's own.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	if se, ok := errors.AsType[*StartError](err); ok {
		return se.Code
	}
	return ExitFailure
}

// Status maps a wait status to the status prodwrap returns — the exit code,
// or 128+N when signal N ended the process — and that signal (0 for none).
func Status(ws syscall.WaitStatus) (code int, sig syscall.Signal) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), ws.Signal()
	}
	return ws.ExitStatus(), 0
}

// ErrStarted is returned by Start when the Child was already started.
var ErrStarted = errors.New("supervise: child already started")

// ErrNotStarted is returned by Wait when Start did not succeed.
var ErrNotStarted = errors.New("supervise: child not started")

// Run starts the child and waits for it.
func (c *Child) Run() (*Result, error) {
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c.Wait()
}

func (c *Child) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Start starts the child. Signals sent meanwhile wait on Child.Signals
// and are forwarded by Wait.
func (c *Child) Start() error {
	if c.cmd != nil {
		return ErrStarted
	}
	cmd := exec.Command(c.Path, c.Args...)
	c.cmd = cmd
	if cmd.Err != nil {
		return startError(c.Path, cmd.Err)
	}
	if c.Argv0 != "" {
		cmd.Args[0] = c.Argv0
	}
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdin = orFile(c.Stdin, os.Stdin)
	cmd.Stdout = orFile(c.Stdout, os.Stdout)

	pr, pw, err := newStderrPipe()
	if err != nil {
		return &StartError{Path: c.Path, Code: ExitFailure, Err: fmt.Errorf("stderr pipe: %w", err)}
	}
	cmd.Stderr = pw

	c.ttyFd = -1
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if fd, ok := foregroundTTY(cmd.Stdin.(*os.File)); ok {
		attr.Foreground = true
		attr.Ctty = fd
		c.ttyFd = fd
	}
	cmd.SysProcAttr = attr

	if c.Subreaper || os.Getpid() == 1 {
		if c.Subreaper && os.Getpid() != 1 {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				pr.close()
				pw.Close()
				return &StartError{Path: c.Path, Code: ExitFailure, Err: fmt.Errorf("become child subreaper: %w", err)}
			}
		}
		c.reaper = startReaper(c.logger(), c.OnPanic)
	}

	c.started = time.Now()
	runtime.LockOSThread() // Pdeathsig is bound to the forking thread; see doc.go.
	err = cmd.Start()
	runtime.UnlockOSThread()
	pw.Close()
	if err != nil {
		pr.close()
		if c.reaper != nil {
			c.reaper.stop()
		}
		c.restoreTTY()
		return startError(c.Path, err)
	}
	if c.reaper != nil {
		c.reaper.setMain(cmd.Process.Pid)
	}
	c.pr = pr
	c.capture = newCapturer(c.Capture)
	c.readDone = make(chan error, 1)
	out := c.Stderr
	if out == nil {
		out = os.Stderr
	}
	go c.pump(pr, out)
	return nil
}

// forwards reports whether sig is one Wait forwards.
func (c *Child) forwards(sig os.Signal) bool {
	if CanForward(sig) != nil {
		return false
	}
	list := c.Forward
	if list == nil {
		list = DefaultSignals
	}
	return slices.Contains(list, sig)
}

func orFile(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

// startError classifies an error from exec.Command or Start.
func startError(path string, err error) error {
	code := ExitFailure
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOENT):
		code = ExitNotFound
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EACCES),
		errors.Is(err, syscall.ENOEXEC), errors.Is(err, syscall.EISDIR):
		code = ExitNotExecutable
	}
	return &StartError{Path: path, Code: code, Err: err}
}

// pump is the stderr reader: it writes every read on at once and feeds the
// capture. Between reads it lets the pipe fill for a bounded moment
// (stderrPipe.pause), so that a child writing fast is read in batches. It
// stops at EOF or when Wait stops it.
func (c *Child) pump(pr *stderrPipe, out io.Writer) {
	buf := make([]byte, readSize)
	var writeErr error
	for {
		n, err := pr.read(buf)
		if !pr.handle() {
			pr.close()
			return // stopped by Wait, which no longer waits for readDone
		}
		if n > 0 {
			chunk := buf[:n]
			if writeErr == nil {
				if werr := c.writeSafely(out, chunk); werr != nil {
					writeErr = werr
					c.logger().Warn("cannot write the child's stderr; still capturing it", "err", werr)
				}
			}
			c.captureSafely(chunk)
		}
		pr.handled()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			pr.close()
			c.readDone <- err
			return
		}
		pr.pause()
	}
}

// writeSafely passes a chunk on; a panic of the writer (prodwrap's own
// LineGate, say) is a bug that ends the passthrough, not the child.
func (c *Child) writeSafely(out io.Writer, chunk []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.panicked(v, "stderr passthrough stopped by an internal error (a bug)")
			err = fmt.Errorf("internal error: %v", v)
		}
	}()
	_, err = out.Write(chunk)
	return err
}

// panicked logs a recovered panic with its stack and reports it.
func (c *Child) panicked(v any, msg string) {
	c.logger().Error(msg, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if c.OnPanic != nil {
		c.OnPanic(v)
	}
}

// captureSafely feeds the capture. A panic there is a bug of prodwrap's; it
// is logged with its stack and ends the capture, never the passthrough.
func (c *Child) captureSafely(chunk []byte) {
	if c.captureBroken {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			c.captureBroken = true
			c.panicked(v, "capture stopped by an internal error (a bug); stderr still passes through")
		}
	}()
	c.capture.write(chunk)
}

// finishCapture is capture.finish, with the same guard.
func (c *Child) finishCapture() (tail []string, dump *Dump) {
	if c.captureBroken {
		return nil, nil
	}
	defer func() {
		if v := recover(); v != nil {
			c.panicked(v, "capture lost to an internal error (a bug)")
			tail, dump = nil, nil
		}
	}()
	tail, dump, _ = c.capture.finish()
	return tail, dump
}

// Wait forwards signals until the child exits, drains its stderr and
// returns how it ended. Only the first call waits; later calls return the
// same result.
func (c *Child) Wait() (*Result, error) {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil, ErrNotStarted
	}
	c.waitOnce.Do(func() { c.result, c.waitErr = c.wait() })
	return c.result, c.waitErr
}

type waitResult struct {
	state *os.ProcessState
	err   error
}

func (c *Child) wait() (*Result, error) {
	waited := make(chan waitResult, 1)
	go func() {
		// The OOM-kill count is read here, after the start and off
		// Start's path (it costs a few percent of a start): an OOM kill
		// within these microseconds would be missed, not misattributed.
		// The first child's was read before its start, by Prepare, when
		// it was called. The send below orders it before wait's read.
		if n, ok := prepared.take(); ok {
			c.oomBefore, c.oomKnown = n, true
		} else if n, err := OOMKills(0); err == nil {
			c.oomBefore, c.oomKnown = n, true
		}
		awaitExit(c.cmd.Process.Pid)
		err := c.cmd.Wait()
		waited <- waitResult{c.cmd.ProcessState, err}
	}()

	var wr waitResult
loop:
	for {
		select {
		case s := <-c.Signals: // a nil channel: never
			c.handle(s)
		case wr = <-waited:
			break loop
		}
	}
	ended := time.Now()
	c.restoreTTY()

	truncated := false
	delay := c.WaitDelay
	if delay <= 0 {
		delay = DefaultWaitDelay
	}
	timer := time.NewTimer(delay)
	var readErr error
	select {
	case readErr = <-c.readDone:
	case <-timer.C:
		truncated = true
		c.pr.stop() // from here on the reader touches neither Stderr nor the capture
	}
	timer.Stop()
	if c.reaper != nil {
		c.reaper.stop()
	}

	if wr.state == nil {
		c.capture.close()
		return nil, fmt.Errorf("wait for %s: %w", c.Path, wr.err)
	}
	if readErr != nil {
		c.logger().Warn("reading the child's stderr failed", "err", readErr)
	}
	res := &Result{
		PID:             wr.state.Pid(),
		Started:         c.started,
		Ended:           ended,
		OutputTruncated: truncated,
		Forwarded:       c.forwarded,
		Received:        c.received,
	}
	if ws, ok := wr.state.Sys().(syscall.WaitStatus); ok {
		res.ExitCode, res.Signal = Status(ws)
		res.CoreDumped = ws.CoreDump()
	} else {
		res.ExitCode = wr.state.ExitCode()
	}
	if res.Signal == syscall.SIGKILL && c.oomKnown {
		if n, err := OOMKills(0); err == nil && n > c.oomBefore {
			res.OOMKilled = true
		}
	}
	res.Tail, res.Dump = c.finishCapture()
	return res, nil
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

// handle handles a signal that reached prodwrap while the child ran:
// it is forwarded when Forward lists it, wakes the reaper when it is
// SIGCHLD, and is recorded otherwise.
func (c *Child) handle(s os.Signal) {
	sig, ok := s.(syscall.Signal)
	switch {
	case !ok:
	case sig == syscall.SIGCHLD:
		if c.reaper != nil {
			c.reaper.wake()
		}
	case c.forwards(sig):
		c.forward(sig)
	default:
		c.received = append(c.received, sig)
		c.logger().Debug("signal not forwarded", "signal", unix.SignalName(sig))
	}
}

// forward sends s to the child, or to its process group. A child that is
// already gone is not an error.
func (c *Child) forward(sig syscall.Signal) {
	pid := c.cmd.Process.Pid
	c.forwarded = append(c.forwarded, sig)
	var err error
	if c.ProcessGroup {
		err = syscall.Kill(-pid, sig)
	} else {
		err = c.cmd.Process.Signal(sig)
	}
	switch {
	case err == nil:
		c.logger().Debug("forwarded signal", "signal", unix.SignalName(sig), "pid", pid, "group", c.ProcessGroup)
	case errors.Is(err, os.ErrProcessDone), errors.Is(err, syscall.ESRCH):
	default:
		c.logger().Warn("cannot forward signal", "signal", unix.SignalName(sig), "pid", pid, "err", err)
	}
}
