package notify

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// errBusy says that another process (or goroutine) holds an entry's claim.
var errBusy = errors.New("claimed by another delivery")

// openLock opens an entry's lock file, never through a symbolic link nor
// blocking on what is not a regular file. create makes it when missing. On
// a spool this process cannot write, an existing lock file is opened
// read-only: flock works on that too.
func openLock(path string, create bool) (*os.File, error) {
	flags := os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("claim: %s is a symbolic link: %w", path, errNotLock)
	}
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("claim: %s is not a regular file: %w", path, errNotLock)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// errNotLock says that what is at a lock file's path is not one.
var errNotLock = errors.New("not a lock file")

// flockNB takes the exclusive flock of f without waiting; errBusy when it
// is held through another open file description, in this process or
// another. The kernel releases it when f is closed or its process dies.
func flockNB(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errBusy
		}
		return fmt.Errorf("claim: %w", err)
	}
}

// lockFile opens (creating it when missing) and flocks the lock file at
// path, making sure the lock is on the file now at path: one who removes
// a lock file holds it, and whoever opened it before gets a lock on a file
// no one else will see.
func lockFile(path string) (*os.File, error) {
	for range 3 {
		lock, err := openLock(path, true)
		if errors.Is(err, errNotLock) {
			// Planted, not prodwrap's: the link itself is removed, its
			// target left alone, and a lock file made in its place.
			if rerr := os.Remove(path); rerr == nil {
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		if err := flockNB(lock); err != nil {
			lock.Close()
			return nil, err
		}
		held, err1 := lock.Stat()
		now, err2 := os.Lstat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return lock, nil
		}
		lock.Close()
	}
	return nil, errBusy
}

// claim takes the claim of the entry at path and returns the entry as it
// is now on disk (another process may have delivered part of it since it
// was listed). It returns errBusy when someone else holds the claim, and
// an error wrapping fs.ErrNotExist when the entry was delivered (or
// quarantined) meanwhile. What is not an entry is quarantined, and the
// error is the quarantine's one line.
func (s *Spool) claim(path string) (*Entry, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, err // gone: no lock file to make and remove for it
	}
	lp := lockPath(path)
	lock, err := lockFile(lp)
	if err != nil {
		return nil, err
	}
	e, err := s.load(path)
	if err != nil {
		if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
			os.Remove(lp) // held by us: the entry is gone, its lock is stale
		}
		lock.Close()
		return nil, err
	}
	e.claim = lock
	return e, nil
}
