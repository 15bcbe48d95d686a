package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/supervise"
)

// memoryCgroup creates a memory cgroup with a limit below the test's own
// cgroup (v2 or v1, whichever this machine has and lets root write) and
// returns the file that takes a PID into it; the test skips where none can
// be made.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skipf("no /proc/self/cgroup: %v", err)
	}
	for _, counter := range supervise.CounterFiles("/sys/fs/cgroup", self) {
		parent := filepath.Dir(counter)
		if _, err := os.Stat(counter); err != nil {
			continue
		}
		dir := filepath.Join(parent, fmt.Sprintf("prodwrap-oom-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		t.Cleanup(func() { os.Remove(dir) })
		limits := [][2]string{{"memory.limit_in_bytes", ""}, {"memory.memsw.limit_in_bytes", ""}} // v1
		if strings.HasSuffix(counter, "memory.events") {
			limits = [][2]string{{"memory.max", ""}, {"memory.swap.max", "0"}} // v2
		}
		ok := true
		for _, l := range limits {
			v := l[1]
			if v == "" {
				v = fmt.Sprint(limit)
			}
			if err := os.WriteFile(filepath.Join(dir, l[0]), []byte(v), 0o644); err != nil && !os.IsNotExist(err) {
				t.Logf("%s: %v", l[0], err)
				ok = false
			}
		}
		if ok {
			return filepath.Join(dir, "cgroup.procs")
		}
	}
	t.Skip("no memory cgroup can be created here (needs root and a writable cgroup file system)")
	return ""
}

// TestOOMKillIsReportedAsOOM runs prodwrap and a child that grows without
// bound in a memory cgroup with a 256 MiB limit: the kernel's OOM killer
// kills the child with SIGKILL, and prodwrap, reading the cgroup's OOM-kill
// counter before and after, reports kind oom and exits 137.
func TestOOMKillIsReportedAsOOM(t *testing.T) {
	procs := memoryCgroup(t, 256<<20)
	crasher := zoo.Build(t, zoo.Plain)
	spool := t.TempDir()
	cmd := command(t, "/bin/sh", "-c", `echo $$ > "$1" && exec "$2" -- "$3" grow`, "sh", procs, prodwrapBin(t), crasher)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+spool)
	out, err := cmd.CombinedOutput()
	if code := exitCode(t, err); code != 137 {
		t.Fatalf("exit %d, want 137 (SIGKILL by the OOM killer)\n%s", code, out)
	}
	reps := run{spool: spool}.reports(t)
	if len(reps) != 1 || reps[0].Crash.Kind != parse.KindOOM || reps[0].Exit.Signal == nil || *reps[0].Exit.Signal != "SIGKILL" {
		t.Fatalf("reports %+v\n%s", reps, out)
	}
	if !strings.Contains(reps[0].Crash.Message, "OOM killer") {
		t.Errorf("message %q", reps[0].Crash.Message)
	}
}
