package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// spillPattern names the spill files of large dumps (see Capture.SpillDir).
const spillPattern = "prodwrap-dump-*.txt"

// createSpill creates a spill file in dir and holds an exclusive flock on
// it for as long as it is open: the kernel lets go when the holder dies,
// however it dies, which is how RemoveDeadSpills tells a leftover from a
// dump being captured.
func createSpill(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, spillPattern)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// RemoveDeadSpills removes the spill files in dir that no live process
// holds: those of a prodwrap that was killed while it captured a large
// dump (a SIGKILL leaves tens of megabytes behind). It returns how many it
// removed. Only regular files of the spill pattern are touched, never
// through a symlink.
func RemoveDeadSpills(dir string) (int, error) {
	if dir == "" {
		return 0, nil
	}
	// os.ReadDir, not filepath.Glob: it opens the directory with
	// O_DIRECTORY, sparing the attempt to add it to the netpoller (five
	// system calls), at every start.
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("remove dead spills: %w", err)
	}
	removed := 0
	var errs []error
	for _, de := range des {
		if ok, _ := filepath.Match(spillPattern, de.Name()); !ok {
			continue
		}
		name := filepath.Join(dir, de.Name())
		fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone, or a link: not ours to touch
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
			unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			} else {
				removed++
			}
		}
		unix.Close(fd)
	}
	return removed, errors.Join(errs...)
}
