package selfwrap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// process is the program as the monitor sees it: a pidfd and its /proc
// directory, both opened by the program itself and inherited by the
// monitor, so that they name it and no later process with the same PID,
// even when the program ended before the monitor got to run.
type process struct {
	pid   int
	pidfd int // -1 when the kernel has no pidfd_open
	dir   int // /proc/PID; -1 when /proc could not be opened
}

// openSelf opens the calling process for its monitor.
func openSelf() *process {
	p := &process{pid: os.Getpid(), pidfd: -1, dir: -1}
	if fd, err := unix.PidfdOpen(p.pid, 0); err == nil {
		p.pidfd = fd
	}
	if fd, err := unix.Open("/proc/"+strconv.Itoa(p.pid), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		p.dir = fd
	}
	return p
}

// files are the open descriptors to hand to the monitor, in order; the
// Files own them from then on (close those, not p).
func (p *process) files() []*os.File {
	var fs []*os.File
	for _, fd := range []int{p.pidfd, p.dir} {
		if fd >= 0 {
			fs = append(fs, os.NewFile(uintptr(fd), "prodwrap-process"))
		}
	}
	return fs
}

// Close releases the descriptors.
func (p *process) Close() {
	for _, fd := range []int{p.pidfd, p.dir} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// read reads a file of the program's /proc directory.
func (p *process) read(name string) ([]byte, error) {
	if p.dir < 0 {
		return nil, errors.New("no /proc directory")
	}
	fd, err := unix.Openat(p.dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

// exitStatus waits up to timeout for the kernel to tell how the program
// ended: the pidfd's exit information once its parent reaped it (Linux
// 6.15 and later), or the exit_code field of /proc/PID/stat while it is a
// zombie.
func (p *process) exitStatus(timeout time.Duration) (syscall.WaitStatus, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if ws, ok := p.pidfdExit(); ok {
			return ws, true
		}
		if ws, ok := p.zombieExit(); ok {
			return ws, true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		if p.pidfd >= 0 {
			// Readable once the program is a zombie; then the loop reads
			// its status at once.
			fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
			_, _ = unix.Poll(fds, 10)
			if fds[0].Revents == 0 {
				continue
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (p *process) pidfdExit() (syscall.WaitStatus, bool) {
	if p.pidfd < 0 {
		return 0, false
	}
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_EXIT}
	if err := unix.IoctlPidfdInfo(p.pidfd, &info); err != nil || info.Mask&unix.PIDFD_INFO_EXIT == 0 {
		return 0, false
	}
	return syscall.WaitStatus(info.Exit_code), true
}

// zombieExit reads the exit status from /proc/PID/stat when the program is
// a zombie (state Z); field 52 is the status as waitpid reports it.
func (p *process) zombieExit() (syscall.WaitStatus, bool) {
	b, err := p.read("stat")
	if err != nil {
		return 0, false
	}
	ws, state, err := parseStat(b)
	if err != nil || state != 'Z' {
		return 0, false
	}
	return ws, true
}

// parseStat returns the state (field 3) and exit_code (field 52) of a
// /proc/PID/stat line.
func parseStat(b []byte) (syscall.WaitStatus, byte, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("no command name in stat")
	}
	fields := bytes.Fields(b[i+1:])
	const state, exitCode = 3, 52 // field numbers of proc(5); fields[0] is field 3
	if len(fields) < exitCode-state+1 {
		return 0, 0, fmt.Errorf("stat has %d fields after the name, want %d", len(fields), exitCode-state+1)
	}
	code, err := strconv.Atoi(string(fields[exitCode-state]))
	if err != nil {
		return 0, 0, fmt.Errorf("stat exit_code: %w", err)
	}
	return syscall.WaitStatus(code), fields[0][0], nil
}
