package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/reporttest"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// The deployment recipes of docs/, run with the real tools where they exist
// here. runit and supervisord come from Debian (.ci/run installs them);
// Docker and Kubernetes cannot run on the build machines (docs/docker.md,
// docs/kubernetes.md say so): dockerfile_test.go plays the Dockerfile's
// instructions instead.

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "examples", "prodwrap-api.service"))
	if err != nil {
		t.Fatal(err)
	}
	crasher := zoo.Build(t, zoo.Plain)
	text := strings.NewReplacer("/usr/local/bin/prodwrap", prodwrapBin(t), "/usr/local/bin/api", crasher).Replace(string(unit))
	path := filepath.Join(t.TempDir(), "prodwrap-api.service")
	os.WriteFile(path, []byte(text), 0o644)
	out, err := command(t, analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// crashingService writes a service that logs a start line to starts and
// then crashes (a real Go nil dereference).
func crashingService(t *testing.T, dir, starts string) string {
	crasher := zoo.Build(t, zoo.Plain)
	svc := filepath.Join(dir, "service.sh")
	os.WriteFile(svc, []byte(fmt.Sprintf("#!/bin/sh\necho started >> %s\nexec %s nil-deref\n", starts, crasher)), 0o755)
	return svc
}

func TestRunitRestartsAndReports(t *testing.T) {
	runsv, err := exec.LookPath("runsv")
	if err != nil {
		t.Skip("runit is not installed (.ci/run installs it: apt-get install runit)")
	}
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	starts := filepath.Join(dir, "starts")
	svc := crashingService(t, dir, starts)
	svdir := filepath.Join(dir, "sv", "api")
	os.MkdirAll(svdir, 0o755)
	run := fmt.Sprintf("#!/bin/sh\nexec 2>&1\nexec %s --spool %s --service api -- %s\n", prodwrapBin(t), spool, svc)
	os.WriteFile(filepath.Join(svdir, "run"), []byte(run), 0o755)
	// A finish script that waits a little keeps runsv from restarting at full speed.
	os.WriteFile(filepath.Join(svdir, "finish"), []byte("#!/bin/sh\nsleep 0.2\n"), 0o755)
	superviseCrashes(t, spool, starts, func() { exec.Command("sv", "down", svdir).Run() }, runsv, svdir)
}

func TestSupervisordRestartsAndReports(t *testing.T) {
	supervisord, err := exec.LookPath("supervisord")
	if err != nil {
		t.Skip("supervisor is not installed (.ci/run installs it: apt-get install supervisor)")
	}
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	starts := filepath.Join(dir, "starts")
	svc := crashingService(t, dir, starts)
	conf := fmt.Sprintf(`[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
[unix_http_server]
file=%[1]s/supervisor.sock
[program:api]
command=%[2]s --spool %[3]s --service api -- %[4]s
autorestart=unexpected
exitcodes=0
startsecs=0
startretries=10
stderr_logfile=%[1]s/api.err.log
`, dir, prodwrapBin(t), spool, svc)
	confPath := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	superviseCrashes(t, spool, starts, nil, supervisord, "-c", confPath)
	errLog, _ := os.ReadFile(filepath.Join(dir, "api.err.log"))
	if !bytes.Contains(errLog, []byte("panic: runtime error")) || !bytes.Contains(errLog, []byte("prodwrap: report ")) {
		t.Errorf("stderr log lacks the dump or the summary:\n%s", errLog)
	}
}

func TestS6RestartsAndReports(t *testing.T) {
	supervise, err := exec.LookPath("s6-supervise")
	if err != nil {
		t.Skip("s6 is not installed (.ci/run installs it: apt-get install s6 execline)")
	}
	execlineb, err := exec.LookPath("execlineb")
	if err != nil {
		t.Skip("execline is not installed")
	}
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	starts := filepath.Join(dir, "starts")
	svc := crashingService(t, dir, starts)
	svdir := filepath.Join(dir, "api")
	os.MkdirAll(svdir, 0o755)
	// docs/s6.md's run script, with the paths of this test.
	run := fmt.Sprintf("#!%s -P\nfdmove -c 2 1\n%s --spool %s --service api -- %s\n", execlineb, prodwrapBin(t), spool, svc)
	os.WriteFile(filepath.Join(svdir, "run"), []byte(run), 0o755)
	os.WriteFile(filepath.Join(svdir, "finish"), []byte("#!/bin/sh\nsleep 0.2\n"), 0o755)
	stop := func() {
		if svc, err := exec.LookPath("s6-svc"); err == nil {
			exec.Command(svc, "-dx", svdir).Run()
		}
	}
	superviseCrashes(t, spool, starts, stop, supervise, svdir)
}

// superviseCrashes runs a supervisor (argv) over a service that crashes at
// every start, until the spool holds two reports, then stops it with stop
// and checks that a crash was reported and the service restarted.
func superviseCrashes(t *testing.T, spool, starts string, stop func(), argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reports := reporttest.WaitReports(t, filepath.Join(spool, "reports"), 2, 30*time.Second)
	if stop != nil {
		stop()
	}
	cmd.Process.Signal(os.Interrupt)
	cancel()
	_ = cmd.Wait()
	b, _ := os.ReadFile(starts)
	if len(reports) < 2 || strings.Count(string(b), "started") < 2 {
		t.Errorf("under %s: %d reports, %d starts; want at least 2 of each (a crash reported, a restart)\n%s",
			filepath.Base(argv[0]), len(reports), strings.Count(string(b), "started"), out.String())
	}
}
