package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// reaper reaps the zombies of orphaned descendants re-parented to prodwrap
// (as PID 1 or a subreaper), never the main child: exec.Cmd.Wait owns that
// one. It stops when stop is called.
type reaper struct {
	log     *slog.Logger
	onPanic func(any)
	mainPID atomic.Int64
	sigchld chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

func startReaper(log *slog.Logger, onPanic func(any)) *reaper {
	r := &reaper{log: log, onPanic: onPanic, sigchld: make(chan struct{}, 1), done: make(chan struct{})}
	r.mainPID.Store(-1)
	r.wg.Add(1)
	go r.loop()
	return r
}

func (r *reaper) setMain(pid int) { r.mainPID.Store(int64(pid)) }

// wake makes the reaper look for zombies now: a SIGCHLD reached the Child.
func (r *reaper) wake() {
	select {
	case r.sigchld <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (r *reaper) loop() {
	defer r.wg.Done()
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("reaper stopped by an internal error (a bug)", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if r.onPanic != nil {
				r.onPanic(v)
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			r.reapOrphans()
			return
		case <-r.sigchld:
		case <-tick.C:
		}
		r.reapOrphans()
	}
}

// reapOrphans waits for every zombie child of prodwrap except the main one.
func (r *reaper) reapOrphans() {
	main := int(r.mainPID.Load())
	for _, pid := range zombieChildren(os.Getpid()) {
		if pid == main || main < 0 {
			continue
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil && !errors.Is(err, unix.ECHILD) {
			r.log.Debug("cannot reap orphan", "pid", pid, "err", err)
		}
	}
}

func (r *reaper) stop() {
	close(r.done)
	r.wg.Wait()
}

// zombieChildren lists the pids of ppid's children that are zombies, read
// from /proc/<pid>/stat.
func zombieChildren(ppid int) []int {
	names, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil
	}
	var pids []int
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 || string(f[0]) != "Z" {
			continue
		}
		if p, err := strconv.Atoi(string(f[1])); err != nil || p != ppid {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(name)))
		if err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
