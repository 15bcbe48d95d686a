package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrNoCgroup is returned by OOMKills where no memory cgroup counter is
// visible.
var ErrNoCgroup = errors.New("supervise: no memory cgroup OOM counter visible")

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// OOMKills returns the OOM-kill counter of the memory cgroup that process
// pid belongs to (0 for prodwrap itself): oom_kill of memory.events under
// cgroup v2, of memory.oom_control under cgroup v1's memory controller.
// Sampled before the child starts and after it exits, an increase tells
// that the kernel's OOM killer struck in the child's cgroup.
//
// prodwrap's own counter files are looked up once per process (reading
// /proc/self/cgroup costs about as much as the counter itself; [Prepare]
// does it while the program initialises) and again when they are gone or
// that lookup failed: a process moved to another cgroup reads the new
// one's.
func OOMKills(pid int) (int, error) {
	if pid <= 0 {
		if files, err := selfCounterFiles(); err == nil {
			if n, err := firstCounter(files); !errors.Is(err, ErrNoCgroup) || len(files) == 0 {
				return n, err
			}
		}
		// Looked up afresh: the files are gone, or the first lookup
		// failed (a transient error, such as EMFILE, is not kept).
	}
	files, err := counterFilesOf(pid)
	if err != nil {
		return 0, err
	}
	return firstCounter(files)
}

// selfCounterFiles are prodwrap's own counter files, looked up once.
var selfCounterFiles = sync.OnceValues(func() ([]string, error) { return counterFilesOf(0) })

// counterFilesOf returns the counter files of process pid (0: prodwrap).
func counterFilesOf(pid int) ([]string, error) {
	self := "self"
	if pid > 0 {
		self = strconv.Itoa(pid)
	}
	b, err := os.ReadFile(filepath.Join("/proc", self, "cgroup"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup of %s: %w", self, err)
	}
	return CounterFiles(cgroupRoot, b), nil
}

// firstCounter reads the first of files that exists.
func firstCounter(files []string) (int, error) {
	for _, file := range files {
		n, err := oomKillCounter(file)
		if errors.Is(err, ErrNoCgroup) {
			continue
		}
		return n, err
	}
	return 0, ErrNoCgroup
}

// CounterFiles returns the files that may hold the OOM-kill counter for a
// /proc/PID/cgroup text, most specific first: cgroup v2's memory.events,
// then cgroup v1's memory.oom_control.
func CounterFiles(root string, procCgroup []byte) []string {
	var v2, v1 []string
	for _, line := range strings.Split(strings.TrimSpace(string(procCgroup)), "\n") {
		id, rest, ok1 := strings.Cut(line, ":")
		controllers, path, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			continue
		}
		if id == "0" && controllers == "" {
			v2 = append(v2, filepath.Join(root, path, "memory.events"))
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			if c == "memory" {
				v1 = append(v1, filepath.Join(root, "memory", path, "memory.oom_control"))
			}
		}
	}
	return append(v2, v1...)
}

// oomKillCounter reads the "oom_kill N" line of a cgroup file.
func oomKillCounter(file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, ErrNoCgroup
		}
		return 0, fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("oom_kill ")); ok {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return 0, fmt.Errorf("%s: oom_kill: %w", file, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	return 0, ErrNoCgroup
}
