package supervise

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// foregroundTTY reports whether f is a terminal whose foreground process
// group is prodwrap's own; then the child's group is made the foreground one
// (see doc.go, "Signals").
func foregroundTTY(f *os.File) (int, bool) {
	if f == nil {
		return -1, false
	}
	fd := int(f.Fd())
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return -1, false
	}
	return fd, pgrp == unix.Getpgrp()
}

// restoreTTY gives the terminal's foreground back to prodwrap's group after
// the child exited. A background group that sets the foreground gets
// SIGTTOU unless the calling thread blocks it (tcsetpgrp(3)), so it is
// blocked for the call on this thread alone: no process-wide signal
// disposition changes, which is the signal owner's (internal/signals).
func (c *Child) restoreTTY() {
	if c.ttyFd < 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ttou, old unix.Sigset_t
	ttou.Val[(unix.SIGTTOU-1)/64] |= 1 << ((uint(unix.SIGTTOU) - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &ttou, &old); err == nil {
		defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) //nolint:errcheck // restoring the mask just read
	}
	_ = unix.IoctlSetPointerInt(c.ttyFd, unix.TIOCSPGRP, unix.Getpgrp())
	c.ttyFd = -1
}
