// Package zoo is prodwrap's crash zoo: the crasher program (zoo/crasher)
// crashes in every way a Go program can, one mode a run, and this package
// builds it once per test binary, runs it and says what each mode must
// produce. The parse, e2e and notify tests share it.
package zoo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/supervise"
)

// Mode is one way to crash and what it must produce.
type Mode struct {
	Name string
	Args []string
	Env  []string // added to the environment, e.g. GOTRACEBACK=all
	// Kind is the crash kind the report must have (docs/architecture.md,
	// "Report model").
	Kind string
	// Message is a prefix the crash message must start with ("" checks nothing).
	Message string
	// TopFunction is the crashing goroutine's top frame function ("" for none).
	TopFunction string
	// OriginFunction is the origin's function when it differs from the top frame's.
	OriginFunction string
	// Marker is the "crash:" comment on the line the top frame (or origin)
	// points at; "" when the mode has no such line.
	Marker string
	// CreatedBy is the function that created the crashing goroutine, if any.
	CreatedBy string
	// Crashing is the report's crash.crashing.
	Crashing bool
	// Repanicked is the report's crash.repanicked.
	Repanicked bool
	// Signal is the signal name the report must carry ("" checks nothing).
	Signal string
	// ExitCode is the status the crasher exits with (128+N for signal N).
	ExitCode int
	// MinGoroutines is the least goroutine count the dump must show.
	MinGoroutines int
	// Race needs the -race build; Cgo needs the cgo build (tag zoocgo).
	Race, Cgo bool
}

// Modes are the crash zoo, one entry per kind and variant.
var Modes = []Mode{
	{Name: "nil-deref", Kind: "panic", Message: "runtime error: invalid memory address or nil pointer dereference", TopFunction: "main.(*Server).handle", Marker: "nil-deref", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "panic-string", Kind: "panic", Message: "something went wrong", TopFunction: "main.init.func1", Marker: "panic-string", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "panic-error", Kind: "panic", Message: "boom error", TopFunction: "main.init.func2", Marker: "panic-error", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "panic-custom", Kind: "panic", Message: "(main.customErr) 0x", TopFunction: "main.panicCustom", Marker: "panic-custom", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "panic-int", Kind: "panic", Message: "42", TopFunction: "main.init.func3", Marker: "panic-int", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "goroutine-panic", Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.goroutinePanic.func1", Marker: "goroutine-panic", CreatedBy: "main.goroutinePanic", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "errgroup-panic", Kind: "panic", Message: "worker failed", TopFunction: "main.errgroupPanic.func1", Marker: "errgroup-panic", CreatedBy: "golang.org/x/sync/errgroup.(*Group).Go", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "repanic", Kind: "panic", Message: "work failed", TopFunction: "main.repanic.func1", OriginFunction: "main.work", Marker: "repanic", Crashing: true, Repanicked: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "panic-in-defer", Kind: "panic", Message: "second panic in defer", TopFunction: "main.panicInDefer.func1", OriginFunction: "main.panicInDefer", Marker: "panic-in-defer", Crashing: true, Repanicked: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "handlecrash", Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.HandleCrash", OriginFunction: "main.controllerSync", Marker: "handlecrash", Crashing: true, Repanicked: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "multiline", Kind: "panic", Message: "first line\nsecond line\nthird line", TopFunction: "main.multiline", Marker: "multiline", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "index-out-of-range", Kind: "panic", Message: "runtime error: index out of range [5] with length 3", TopFunction: "main.indexOutOfRange", Marker: "index-out-of-range", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "divide-by-zero", Kind: "panic", Message: "runtime error: integer divide by zero", TopFunction: "main.divideByZero", Marker: "divide-by-zero", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "close-closed-channel", Kind: "panic", Message: "close of closed channel", TopFunction: "main.closeClosedChannel", Marker: "close-closed-channel", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "nil-map-write", Kind: "panic", Message: "assignment to entry in nil map", TopFunction: "main.nilMapWrite", Marker: "nil-map-write", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "concurrent-map-writes", Kind: "fatal_error", Message: "concurrent map writes", TopFunction: "main.concurrentMapWrites.func1", Marker: "concurrent-map-writes", CreatedBy: "main.concurrentMapWrites", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "goexit-deadlock", Kind: "deadlock", Message: "no goroutines (main called runtime.Goexit) - deadlock!", ExitCode: 2},
	{Name: "deadlock", Kind: "deadlock", Message: "all goroutines are asleep - deadlock!", TopFunction: "main.deadlock", Marker: "deadlock", ExitCode: 2, MinGoroutines: 1},
	{Name: "stack-overflow", Kind: "stack_overflow", Message: "stack overflow", TopFunction: "main.recurse", Marker: "stack-overflow", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "oom", Kind: "oom", Message: "out of memory", TopFunction: "main.outOfMemory", Marker: "oom", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "unlock-unlocked", Kind: "fatal_error", Message: "sync: unlock of unlocked mutex", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "timeout", Kind: "timeout", Message: "test timed out after 1s", TopFunction: "main.timeout", Marker: "timeout", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "many-goroutines", Args: []string{"200"}, Env: []string{"GOTRACEBACK=all"}, Kind: "panic", Message: "200 goroutines are waiting", TopFunction: "main.manyGoroutines", Marker: "many-goroutines", Crashing: true, ExitCode: 2, MinGoroutines: 201},
	{Name: "gotraceback-crash", Args: nil, Env: []string{"GOTRACEBACK=crash"}, Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.(*Server).handle", Marker: "nil-deref", Crashing: true, Signal: "SIGSEGV", ExitCode: 128 + int(syscall.SIGABRT), MinGoroutines: 1},
	{Name: "log-then-crash", Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.(*Server).handle", Marker: "nil-deref", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "locked-thread", Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.lockedThread.func1", Marker: "locked-thread", CreatedBy: "main.lockedThread", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "generic", Kind: "panic", Message: "runtime error: index out of range [-1]", TopFunction: "main.(*Stack[...]).Pop", Marker: "generic", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "method-value", Kind: "panic", Message: "method value failed", TopFunction: "main.(*Server).fail", Marker: "method-value", Crashing: true, ExitCode: 2, MinGoroutines: 1},
	{Name: "mid-line", Kind: "panic", Message: "runtime error: invalid memory address", TopFunction: "main.midLine", Marker: "mid-line", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1},
	{Name: "hang", Kind: "sigquit", Message: "quit", ExitCode: 2, MinGoroutines: 2},
	{Name: "cgo-segv", Kind: "signal", Message: "segmentation violation", TopFunction: "main._Cfunc_segv", Crashing: true, Signal: "SIGSEGV", ExitCode: 2, MinGoroutines: 1, Cgo: true},
	{Name: "race", Kind: "race", Message: "data race: read at 0x", TopFunction: "main.race", Marker: "race", ExitCode: 66, Race: true},
	{Name: "exit", Args: []string{"3"}, Kind: "exit", ExitCode: 3},
	{Name: "log-fatal", Kind: "exit", ExitCode: 1},
	{Name: "sigkill-self", Kind: "killed", ExitCode: 128 + int(syscall.SIGKILL)},
	{Name: "sigterm-default", Kind: "killed", ExitCode: 128 + int(syscall.SIGTERM)},
	{Name: "not-really", Kind: "", ExitCode: 0},
}

// Lookup returns the mode called name.
func Lookup(name string) (Mode, bool) {
	for _, m := range Modes {
		if m.Name == name {
			return m, true
		}
	}
	return Mode{}, false
}

// Program returns the crasher subcommand for the mode (modes that reuse
// another mode's crash under a different environment name it here).
func (m Mode) Program() string {
	switch m.Name {
	case "gotraceback-crash":
		return "nil-deref"
	}
	return m.Name
}

// Flavors of the crasher build.
const (
	Plain = ""
	Race  = "race"
	Cgo   = "cgo"
	// SelfWrap wraps itself with package selfwrap (tag zooselfwrap);
	// ZOO_SELFWRAP=monitor picks the monitor mode.
	SelfWrap = "selfwrap"
)

// Flavor is the build the mode needs.
func (m Mode) Flavor() string {
	switch {
	case m.Race:
		return Race
	case m.Cgo:
		return Cgo
	}
	return Plain
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build builds the crasher of a flavor (Plain, Race, Cgo, SelfWrap) once per test
// binary and returns its path.
func Build(t testing.TB, flavor string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[flavor]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "prodwrap-zoo-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crasher")
	args := []string{"build", "-o", bin}
	switch flavor {
	case Race:
		args = append(args, "-race")
	case Cgo:
		args = append(args, "-tags", "zoocgo")
	case SelfWrap:
		args = append(args, "-tags", "zooselfwrap")
		args = append(args, CoverFlags()...) // its watcher and monitor are prodwrap's code
	}
	args = append(args, "github.com/prodwrap/prodwrap/internal/zoo/crasher")
	cmd := exec.Command(GoTool(), args...)
	if flavor == SelfWrap {
		// Static, as services are shipped: selfwrap links net, which with
		// cgo brings cgo's extra M, and that hides deadlocks from the
		// runtime's detector (see the crasher's doc), which the deadlock
		// mode must show.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build crasher: %v\n%s", err, out)
	}
	built[flavor] = bin
	return bin
}

// Result is what a run of the crasher gave.
type Result struct {
	Stderr   []byte
	ExitCode int
	// Goroutine is the id the crasher printed as "zoo: goroutine=N", 0 if none.
	Goroutine int
}

// Run runs the crasher in mode m and returns its stderr and status. The
// hang mode is sent SIGQUIT once it is ready.
func Run(t testing.TB, m Mode) Result {
	t.Helper()
	return RunBinary(t, Build(t, m.Flavor()), m)
}

// RunBinary runs bin (a crasher build) in mode m; see Run.
func RunBinary(t testing.TB, bin string, m Mode) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{m.Program()}, m.Args...)...)
	cmd.Env = append(os.Environ(), m.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m.Name == "hang" && sc.Text() == "ready" {
			cmd.Process.Signal(syscall.SIGQUIT)
		}
	}
	err = cmd.Wait()
	res := Result{Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			res.ExitCode, _ = supervise.Status(ws)
		}
	default:
		t.Fatalf("run crasher %s: %v", m.Name, err)
	}
	res.Goroutine = GoroutineMark(res.Stderr)
	return res
}

// WriteManyGoroutinesDump writes to path the stderr of the many-goroutines
// mode of bin (a crasher build) with n goroutines at GOTRACEBACK=all: the
// Go runtime's dump of n goroutines blocked at depths of 5 to 30 frames,
// for the benchmarks that read a big real dump from a file.
func WriteManyGoroutinesDump(t testing.TB, bin, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "many-goroutines", strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	w := bufio.NewWriterSize(f, 1<<20)
	cmd.Stderr = w
	_ = cmd.Run() // it panics by design
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// GoroutineMark returns N of the crasher's "zoo: goroutine=N" line, 0 if none.
func GoroutineMark(stderr []byte) int {
	i := bytes.Index(stderr, []byte("zoo: goroutine="))
	if i < 0 {
		return 0
	}
	rest := stderr[i+len("zoo: goroutine="):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	n, _ := strconv.Atoi(string(rest))
	return n
}

// MarkerLine returns the file and line of the "crash:NAME" comment in the
// crasher's source.
func MarkerLine(t testing.TB, name string) (file string, line int) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "crasher")
	for _, f := range []string{"main.go", "cgo.go"} {
		path := filepath.Join(dir, f)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(l, "// crash:"+name) || strings.Contains(l, "// crash:"+name+" ") {
				return path, i + 1
			}
		}
	}
	t.Fatalf("no crash:%s marker in the crasher", name)
	return "", 0
}

// String describes the mode for test names.
func (m Mode) String() string { return fmt.Sprintf("%s %v", m.Name, m.Args) }

// CoverDirEnv names the directory where the binaries the end-to-end tests
// build of prodwrap's code (the prodwrap command, the self-wrapping
// crasher) write their coverage, for scripts/test to merge into the total.
// It is not GOCOVERDIR because go test points that at a directory of its
// own for each test binary.
const CoverDirEnv = "PRODWRAP_COVERDIR"

// CoverFlags are the go build flags that make such a binary count its
// coverage when CoverDirEnv is set; without it, none.
func CoverFlags() []string {
	if os.Getenv(CoverDirEnv) == "" {
		return nil
	}
	return []string{"-cover", "-covermode=atomic", "-coverpkg=github.com/prodwrap/prodwrap/..."}
}

// RedirectCoverage points GOCOVERDIR at CoverDirEnv's directory, when set,
// for the processes a test binary starts from then on; a TestMain calls it
// first.
func RedirectCoverage() {
	if d := os.Getenv(CoverDirEnv); d != "" {
		os.Setenv("GOCOVERDIR", d)
	}
}

// GoTool returns the go command that runs the tests: $GOROOT/bin/go of the
// toolchain when go env says it, else "go" from PATH.
func GoTool() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
