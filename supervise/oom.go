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
func OOMKills(pid int) (int, error) {
	self := "self"
	if pid > 0 {
		self = strconv.Itoa(pid)
	}
	b, err := os.ReadFile(filepath.Join("/proc", self, "cgroup"))
	if err != nil {
		return 0, fmt.Errorf("read cgroup of %s: %w", self, err)
	}
	for _, file := range CounterFiles(cgroupRoot, b) {
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
