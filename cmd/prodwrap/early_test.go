package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/early"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// slowInits are the packages that initialise longest in the binary
// (GODEBUG=inittrace=1; client_golang's default registry alone is about
// 0.7 ms, and the four together more than the registration of the
// signals): the early registration must run beside them, so it must begin
// before them. Some quicker ones come before it (BurntSushi/toml's
// internal, protobuf's detrand: their import paths sort first, and
// internal/signals waits for log/slog and os/exec).
var slowInits = []string{
	"github.com/prometheus/client_golang/prometheus",
	"github.com/prometheus/procfs",
	"github.com/getsentry/sentry-go",
	"net/http",
}

// TestEarlyInitialisesBeforeTheSlowPackages: in the built binary, the init
// of internal/early (which begins registering the signals) runs
// before those of the packages that take longest, so the registration
// overlaps them (docs/benchmarks.md, "Start-up"). It fails if early, or
// internal/signals, comes to import one of them, or one of them stops
// being linked.
func TestEarlyInitialisesBeforeTheSlowPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "prodwrap")
	build := exec.Command(zoo.GoTool(), "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("prodwrap version: %v\n%s", err, out)
	}
	var order []string // "init PKG @T ms, ..." for each package with init work, in order
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			order = append(order, f[1])
		}
	}
	early := slices.Index(order, "github.com/prodwrap/prodwrap/internal/early")
	if early < 0 {
		t.Fatalf("internal/early has no init in the binary:\n%s", out)
	}
	for _, pkg := range slowInits {
		switch i := slices.Index(order, pkg); {
		case i < 0:
			t.Errorf("%s has no init in the binary: update slowInits", pkg)
		case i < early:
			t.Errorf("%s initialises before internal/early (%d < %d):\n%s", pkg, i, early, strings.Join(order, "\n"))
		}
	}
}

// TestQuietInvocationsRegisterNothing: early.Quiet, the arguments for
// which the binary's init does not begin registering signals, names every
// sub-command but those that build the report pipeline and own the
// signals (send, flush, test: startPipeline), and the exec trampoline's
// argument. A sub-command missing from it would catch SIGPIPE and ^Z
// (e2e TestQuietInvocationsKeepGoDefaults shows what that breaks).
func TestQuietInvocationsRegisterNothing(t *testing.T) {
	owners := []string{"send", "flush", "test"}
	for name := range subcommands {
		switch quiet := slices.Contains(early.Quiet, name); {
		case slices.Contains(owners, name) && quiet:
			t.Errorf("%s owns prodwrap's signals but is in early.Quiet", name)
		case !slices.Contains(owners, name) && !quiet:
			t.Errorf("%s registers no signal but is not in early.Quiet", name)
		}
	}
	for _, arg := range []string{watch.ExecArg, "--version", "-V", "--help", "-h"} {
		if !slices.Contains(early.Quiet, arg) {
			t.Errorf("%s is not in early.Quiet", arg)
		}
	}
}
