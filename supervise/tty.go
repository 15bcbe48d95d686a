package supervise

import (
	"os"
	"os/signal"
	"syscall"

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
// SIGTTOU, so it is ignored for the call.
func (c *Child) restoreTTY() {
	if c.ttyFd < 0 {
		return
	}
	signal.Ignore(syscall.SIGTTOU)
	_ = unix.IoctlSetPointerInt(c.ttyFd, unix.TIOCSPGRP, unix.Getpgrp())
	signal.Reset(syscall.SIGTTOU)
	c.ttyFd = -1
}
