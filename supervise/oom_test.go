package supervise_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/supervise"
)

func TestCounterFiles(t *testing.T) {
	tests := []struct {
		name, cgroup string
		want         []string
	}{
		{"v2", "0::/system.slice/api.service\n", []string{"/r/system.slice/api.service/memory.events"}},
		{"v1", "4:memory:/process_api/x\n3:cpuset:/\n", []string{"/r/memory/process_api/x/memory.oom_control"}},
		{"v1 with co-mounted controllers", "5:cpu,memory:/a\n", []string{"/r/memory/a/memory.oom_control"}},
		{"hybrid: v2 first", "4:memory:/b\n0::/a\n", []string{"/r/a/memory.events", "/r/memory/b/memory.oom_control"}},
		{"none", "3:cpuset:/\ngarbage\n", nil},
	}
	for _, tt := range tests {
		got := supervise.CounterFiles("/r", []byte(tt.cgroup))
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOOMKills(t *testing.T) {
	if n := ownOOMKills(t); n < 0 {
		t.Errorf("OOMKills = %d", n)
	}
}

// ownOOMKills is prodwrap's own cgroup's OOM-kill count; it skips the
// test where no memory cgroup counter is visible.
func ownOOMKills(t *testing.T) int {
	t.Helper()
	n, err := supervise.OOMKills(0)
	if errors.Is(err, supervise.ErrNoCgroup) {
		t.Skip("no memory cgroup counter visible here")
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}
