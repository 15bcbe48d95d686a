package supervise_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// orphanScript leaves ten orphans (each subshell exits at once, so its sleep
// is re-parented to PID 1), outlives them, and then prints the number of
// zombies in the PID namespace.
const orphanScript = `for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0.2 &); done
sleep 1.5
grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l`

func TestPID1ReapsOrphans(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed: cannot run the supervisor as PID 1")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	probe := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("unshare --pid cannot run here (needs root or user namespaces): %v: %s", err, out)
	}
	cmd := helperCommand(t, "supervisor")
	cmd.Path = unshare
	cmd.Args = []string{"unshare", "--pid", "--fork", "--mount-proc", exe, "/bin/sh", "-c", orphanScript}
	cmd.Env = append(cmd.Env, "SUPERVISOR_RAW=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("supervisor as PID 1: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "0" {
		t.Errorf("zombies left in the PID namespace: %s, want 0", got)
	}
}

// TestWithoutReaperOrphansStayZombies shows the test above can fail: the
// same script under a PID 1 that never waits (sleep) leaves its zombies.
func TestWithoutReaperOrphansStayZombies(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not installed")
	}
	probe := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("unshare --pid cannot run here: %v: %s", err, out)
	}
	cmd := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "/bin/sh", "-c", "/bin/sh -c \"$1\" & exec sleep 2", "sh", orphanScript)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got == "0" {
		t.Errorf("a PID 1 that never waits left no zombies; the reaping test cannot tell reaping from luck")
	}
}
