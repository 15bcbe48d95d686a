package watch_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/report"
)

func TestReadBuild(t *testing.T) {
	bin := zoo.Build(t, zoo.Plain)
	b, err := watch.ReadBuild(bin)
	if err != nil {
		t.Fatal(err)
	}
	if b.MainModule != "github.com/prodwrap/prodwrap" || !strings.HasPrefix(b.GoVersion, "go1.") {
		t.Errorf("ReadBuild = %+v", b)
	}
	notGo := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notGo, []byte("#!/bin/sh\n"), 0o755)
	if _, err := watch.ReadBuild(notGo); err == nil || !strings.Contains(err.Error(), notGo) {
		t.Errorf("ReadBuild of a shell script: %v, want an error naming the file", err)
	}
}

// TestReadBuildVCS builds a program in a fresh git repository and reads
// its revision, time and modified flag back.
func TestReadBuildVCS(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/vcsdemo\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(git, "init", "-q")
	run(git, "add", ".")
	run(git, "commit", "-qm", "initial")
	rev := run(git, "rev-parse", "HEAD")
	bin := filepath.Join(dir, "demo")
	run(zoo.GoTool(), "build", "-buildvcs=true", "-o", bin, ".")
	b, err := watch.ReadBuild(bin)
	if err != nil {
		t.Fatal(err)
	}
	if b.MainModule != "example.com/vcsdemo" || b.VCSRevision != rev || b.VCSTime == "" || b.VCSModified {
		t.Errorf("ReadBuild = %+v, want revision %s, unmodified", b, rev)
	}
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println() }\n"), 0o644)
	run(zoo.GoTool(), "build", "-buildvcs=true", "-o", bin, ".")
	if b, _ := watch.ReadBuild(bin); !b.VCSModified {
		t.Errorf("a build with uncommitted changes: vcs_modified = false")
	}
	// Go stamps a pseudo-version from the commit; the release names it.
	r := report.New(report.Input{Build: b, Exit: report.Exit{Code: 1}})
	if r.Release != "example.com/vcsdemo@"+b.Version || !strings.Contains(b.Version, rev[:12]) {
		t.Errorf("release = %q (version %q), want module@pseudo-version of %s", r.Release, b.Version, rev)
	}
	b.Version = ""
	if r := report.New(report.Input{Build: b, Exit: report.Exit{Code: 1}}); r.Release != rev {
		t.Errorf("without a version, release = %q, want the revision %s", r.Release, rev)
	}
}
