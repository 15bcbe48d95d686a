package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
)

// crashApp copies testdata/crashapp (a module with a subpackage and a
// dependency, sentry-go) into a git repository of its own, commits it, and
// builds it there with VCS stamping, with extra build flags. It returns the
// binary, the module's directory and the commit.
func crashApp(t *testing.T, flags ...string) (bin, dir, rev string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir = filepath.Join(t.TempDir(), "crashapp")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "crashapp"))); err != nil {
		t.Fatal(err)
	}
	// Its go.mod is kept as go.mod.in: a go.mod would make testdata/crashapp
	// a module of its own inside prodwrap's, which module zips refuse.
	if err := os.Rename(filepath.Join(dir, "go.mod.in"), filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
	// The module's checksums are prodwrap's: both take sentry-go v0.50.0
	// and the same x/sys and x/text.
	sum, err := os.ReadFile(filepath.Join(repoRoot(t), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "crashapp")
	rev = git("rev-parse", "HEAD")
	bin = filepath.Join(t.TempDir(), "crashapp")
	build := exec.Command(goTool(), append(append([]string{"build", "-buildvcs=true", "-mod=mod", "-o", bin}, flags...), ".")...)
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build crashapp: %v\n%s", err, out)
	}
	return bin, dir, rev
}

// sdkEvent is the part of a Sentry event the tests read.
type sdkEvent struct {
	EventID     string            `json:"event_id"`
	Release     string            `json:"release"`
	Environment string            `json:"environment"`
	Fingerprint []string          `json:"fingerprint"`
	Tags        map[string]string `json:"tags"`
	Modules     map[string]string `json:"modules"`
	Contexts    map[string]map[string]any
	Sdk         struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		Packages []struct{ Name, Version string }
	} `json:"sdk"`
	Message   string `json:"message"`
	Level     string `json:"level"`
	Exception []struct {
		Type, Value string
		Stacktrace  *struct {
			Frames []sdkFrame `json:"frames"`
		} `json:"stacktrace"`
	} `json:"exception"`
}

type sdkFrame struct {
	Function string `json:"function"`
	Module   string `json:"module"`
	Filename string `json:"filename"`
	AbsPath  string `json:"abs_path"`
	Lineno   int    `json:"lineno"`
	InApp    bool   `json:"in_app"`
}

// events reads the event of each envelope the receiver holds, by the
// name of the SDK that sent it.
func sdkEvents(t *testing.T, rcv *testreceiver.Sentry, n int) map[string]sdkEvent {
	t.Helper()
	envs := rcv.Envelopes(n, 20*time.Second)
	out := map[string]sdkEvent{}
	for _, env := range envs {
		items, err := testreceiver.ParseEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Header["type"] != "event" {
				continue
			}
			var ev sdkEvent
			if err := json.Unmarshal(it.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			out[ev.Sdk.Name] = ev
		}
	}
	if len(out) < n {
		t.Fatalf("the receiver holds %d events, want %d", len(out), n)
	}
	return out
}

func inApp(ev sdkEvent) []sdkFrame {
	var out []sdkFrame
	if len(ev.Exception) == 0 || ev.Exception[0].Stacktrace == nil {
		return nil
	}
	for _, f := range ev.Exception[0].Stacktrace.Frames {
		if f.InApp {
			out = append(out, f)
		}
	}
	return out
}

// appFrames are the exception's frames of crashapp's own packages.
func appFrames(ev sdkEvent) []sdkFrame {
	var out []sdkFrame
	if len(ev.Exception) == 0 || ev.Exception[0].Stacktrace == nil {
		return nil
	}
	for _, f := range ev.Exception[0].Stacktrace.Frames {
		if f.Module == "main" || strings.HasPrefix(f.Module, "example.com/crashapp") {
			out = append(out, f)
		}
	}
	return out
}

// TestSentryEventOfAModule: one crash of a program built from a module
// with a subpackage and a dependency, VCS stamped, through the real Sentry
// receiver: the event names prodwrap's version and sentry-go, its in-app
// frames have filenames with the subdirectory, modules has the dependency,
// the os, runtime and device contexts are there, the release is the VCS
// revision, no fingerprint, and the tags of PRODWRAP_TAGS.
func TestSentryEventOfAModule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	rcv := testreceiver.StartSentry(t)
	bin, _, rev := crashApp(t)
	r := prodwrap(t, nil, []string{"SENTRY_DSN=" + rcv.DSN(), "PRODWRAP_TAGS=team=payments,region=eu"}, "--", bin, "crash")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	ev, ok := sdkEvents(t, rcv, 1)["prodwrap"]
	if !ok {
		t.Fatal("no event of prodwrap's")
	}
	version := exec.Command(prodwrapBin(t), "version")
	out, _ := version.Output()
	if want := strings.Fields(string(out)); len(want) < 2 || ev.Sdk.Version != want[1] {
		t.Errorf("sdk.version %q, want prodwrap's own (%q)", ev.Sdk.Version, out)
	}
	if !slices.ContainsFunc(ev.Sdk.Packages, func(p struct{ Name, Version string }) bool { return p.Name == "sentry-go" && p.Version == "0.50.0" }) {
		t.Errorf("sdk.packages %+v lack sentry-go", ev.Sdk.Packages)
	}
	frames := inApp(ev)
	if len(frames) != 3 || frames[2].Filename != "store/store.go" || frames[2].Module != "example.com/crashapp/store" || frames[0].Filename != "main.go" {
		t.Errorf("in-app frames %+v, want main.go, main.go, store/store.go", frames)
	}
	if ev.Modules["github.com/getsentry/sentry-go"] != "v0.50.0" || ev.Modules["example.com/crashapp"] == "" && len(ev.Modules) < 2 {
		t.Errorf("modules %v", ev.Modules)
	}
	for _, c := range []string{"os", "runtime", "device"} {
		if len(ev.Contexts[c]) == 0 {
			t.Errorf("no contexts.%s in %v", c, ev.Contexts)
		}
	}
	if ev.Contexts["os"]["kernel_version"] == nil || ev.Contexts["device"]["num_cpu"] == nil || ev.Contexts["runtime"]["version"] == nil {
		t.Errorf("contexts %v", ev.Contexts)
	}
	if ev.Release != rev || ev.Fingerprint != nil || ev.Tags["team"] != "payments" || ev.Tags["region"] != "eu" {
		t.Errorf("release %q (want the VCS revision %s), fingerprint %q, tags %v", ev.Release, rev, ev.Fingerprint, ev.Tags)
	}
	if len(ev.Exception) != 1 || ev.Exception[0].Type != "runtime.Error" {
		t.Errorf("exception %+v", ev.Exception)
	}
}

// TestSentrySideBySideWithSentryGo: the same crash on the same line,
// reported once by sentry-go's own Recover in-process and once by
// prodwrap from outside, to the same receiver. The exception value, the
// program's frames (function, module, filename, lineno, in_app), the
// release and the environment are the same; the field-by-field comparison is the
// golden testdata/sentry-side-by-side.golden. Built with -trimpath (the
// filename is the file as the binary names it, for both) and without
// (sentry-go sends the absolute path alone, prodwrap adds the path from the
// module root, for Sentry's code mappings), and in_app, which sentry-go
// gets wrong with -trimpath (no frame is in_app), is compared in the plain
// build.
func TestSentrySideBySideWithSentryGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	var report strings.Builder
	for _, build := range []struct {
		name  string
		flags []string
	}{{"trimpath", []string{"-trimpath"}}, {"plain", nil}} {
		rcv := testreceiver.StartSentry(t)
		bin, dir, rev := crashApp(t, build.flags...)
		env := []string{"SENTRY_DSN=" + rcv.DSN(), "SENTRY_ENVIRONMENT=staging"}
		sdk := command(t, bin, "sdk")
		sdk.Env = append(os.Environ(), env...)
		if out, err := sdk.CombinedOutput(); err != nil {
			t.Fatalf("crashapp sdk: %v\n%s", err, out)
		}
		if r := prodwrap(t, nil, env, "--", bin, "crash"); r.code != 2 {
			t.Fatalf("prodwrap exit %d\n%s", r.code, r.stderr)
		}
		evs := sdkEvents(t, rcv, 2)
		theirs, ours := evs["sentry.go"], evs["prodwrap"]
		fmt.Fprintf(&report, "# %s build\n", build.name)
		same := func(field string, a, b any, mustMatch bool) {
			norm := strings.NewReplacer(dir, "$MODULE", rev, "$REVISION")
			sa, sb := norm.Replace(fmt.Sprint(a)), norm.Replace(fmt.Sprint(b))
			if sa == sb {
				fmt.Fprintf(&report, "%-28s same: %s\n", field, sa)
				return
			}
			fmt.Fprintf(&report, "%-28s sentry-go: %s | prodwrap: %s\n", field, sa, sb)
			if mustMatch {
				t.Errorf("%s build: %s differs: sentry-go %s, prodwrap %s", build.name, field, sa, sb)
			}
		}
		var tv, ov, tt, ot string
		if len(theirs.Exception) > 0 {
			tv, tt = theirs.Exception[0].Value, theirs.Exception[0].Type
		}
		if len(ours.Exception) > 0 {
			ov, ot = ours.Exception[0].Value, ours.Exception[0].Type
		}
		same("exception.value", tv, ov, true)
		// The dump does not print the panic value's concrete type: prodwrap
		// names the interface (runtime.Error) where sentry-go has the value.
		same("exception.type", tt, ot, false)
		same("level", theirs.Level, ours.Level, true)
		same("release", theirs.Release, ours.Release, true)
		same("environment", theirs.Environment, ours.Environment, true)
		// The program's frames: with -trimpath sentry-go marks none in_app
		// (its GOROOT is "" there, a prefix of every abs_path, even an
		// empty one), so they are picked by module, and in_app compared.
		tf, of := appFrames(theirs), appFrames(ours)
		same("the program's frames", len(tf), len(of), true)
		for i := range min(len(tf), len(of)) {
			a, b := tf[i], of[i]
			p := fmt.Sprintf("frame %d ", i)
			same(p+"function", a.Function, b.Function, true)
			same(p+"module", a.Module, b.Module, true)
			same(p+"filename", a.Filename, b.Filename, build.name == "trimpath")
			same(p+"abs_path", a.AbsPath, b.AbsPath, true)
			same(p+"lineno", a.Lineno, b.Lineno, true)
			same(p+"in_app", a.InApp, b.InApp, build.name != "trimpath")
		}
	}
	checkTextGolden(t, "sentry-side-by-side.golden", report.String())
}

// checkTextGolden compares got with testdata/name; PRODWRAP_UPDATE_GOLDEN=1
// rewrites it.
func checkTextGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("PRODWRAP_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (PRODWRAP_UPDATE_GOLDEN=1 go test ./e2e -run %s writes it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
