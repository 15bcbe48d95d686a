package report

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

// ErrNoCgroup is returned by OOMKills where no cgroup v2 memory controller
// is visible.
var ErrNoCgroup = errors.New("report: no cgroup v2 memory.events")

// OOMKills returns the oom_kill counter of the cgroup v2 that process pid
// belongs to (0 for prodwrap itself), from memory.events. Sampled before
// the child starts and after it exits, an increase tells that the kernel's
// OOM killer struck in the child's cgroup.
func OOMKills(pid int) (int, error) {
	self := "self"
	if pid > 0 {
		self = strconv.Itoa(pid)
	}
	b, err := os.ReadFile(filepath.Join("/proc", self, "cgroup"))
	if err != nil {
		return 0, fmt.Errorf("read cgroup of %s: %w", self, err)
	}
	var rel string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	if rel == "" {
		return 0, ErrNoCgroup
	}
	events := filepath.Join("/sys/fs/cgroup", rel, "memory.events")
	f, err := os.Open(events)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, ErrNoCgroup
		}
		return 0, fmt.Errorf("open %s: %w", events, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("oom_kill ")); ok {
			return strconv.Atoi(string(v))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", events, err)
	}
	return 0, ErrNoCgroup
}
