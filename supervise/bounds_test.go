package supervise_test

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// runSupervisorReport runs the supervisor helper with child and args,
// discarding the child's stderr, and returns the supervisor's report lines
// (written to its fd 3).
func runSupervisorReport(t *testing.T, env []string, child string, args ...string) map[string]string {
	t.Helper()
	cmd := helperCommand(t, "supervisor", append([]string{child}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stderr = devnull
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	report := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		report[k] = v
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("supervisor: %v", err)
	} else if ok && ee.ExitCode() > 2 {
		t.Fatalf("supervisor exited %d", ee.ExitCode())
	}
	return report
}

// TestPeakRSSBounded: whatever the child prints, the supervisor's peak RSS
// stays under 64 MiB (VmHWM of the supervisor process itself).
func TestPeakRSSBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1.2 GB through a pipe")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory is not prodwrap's; scripts/test runs this test without -race")
	}
	tests := []struct {
		name  string
		child string
		arg   int
	}{
		{"1 GiB line without a newline", "long-line", 1 << 30},
		{"200 MB goroutine dump", "fake-dump", 200 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runSupervisorReport(t, []string{"SUPERVISOR_SPILL=" + t.TempDir()}, tt.child, strconv.Itoa(tt.arg))
			kb, err := strconv.Atoi(rep["vmhwm"])
			if err != nil || kb <= 0 {
				t.Fatalf("no VmHWM from the supervisor: %v", rep)
			}
			t.Logf("supervisor peak RSS: %d kB", kb)
			if kb >= 64<<10 {
				t.Errorf("supervisor peak RSS %d kB, want under 64 MiB", kb)
			}
		})
	}
}
