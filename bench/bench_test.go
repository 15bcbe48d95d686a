// Package bench measures what prodwrap costs the service it wraps: the same
// child run directly, under supervise alone (testdata/supervised, the floor
// of a Go supervisor that reads the child's stderr) and under the real
// prodwrap binary, side by side in one run, reported as ratios (bench/run
// writes them to docs/benchmarks.md). Each iteration runs every variant
// once, in an order that rotates from one iteration to the next, and the
// figures are medians over the iterations, so that a busy machine moves
// every variant alike. These are benchmarks, not tests: nothing here
// asserts on time.
package bench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestMain removes the binaries the benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range builtDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// builtDirs are the temporary directories of the binaries built, removed by TestMain.
var builtDirs []string

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func prodwrapBin(b *testing.B) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "prodwrap-bench-")
		if err != nil {
			buildErr = err
			return
		}
		builtDirs = append(builtDirs, dir)
		binPath = filepath.Join(dir, "prodwrap")
		buildErr = build(binPath, "github.com/prodwrap/prodwrap/cmd/prodwrap")
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binPath
}

// A variant is a way to run the child: directly or under a supervisor.
type variant struct {
	name string
	wrap func(argv []string) []string
}

func variants(b *testing.B) []variant {
	supervised := buildFloor(b, "supervised")
	prodwrap := prodwrapBin(b)
	return []variant{
		{"direct", func(argv []string) []string { return argv }},
		{"supervised", func(argv []string) []string { return append([]string{supervised}, argv...) }},
		{"prodwrap", func(argv []string) []string { return append([]string{prodwrap, "--"}, argv...) }},
	}
}

// passthroughVariants are the variants and, beside them, the floor of any
// wrapper that puts a pipe between the child and its destination
// (testdata/pipefloor: splice(2), no byte copied into user space; with
// lazy, the floor for few-byte writes: it lets the pipe fill between small
// splices).
func passthroughVariants(b *testing.B, lazy bool) []variant {
	pipefloor := []string{buildFloor(b, "pipefloor")}
	if lazy {
		pipefloor = append(pipefloor, "-lazy")
	}
	return append(variants(b), variant{"pipefloor", func(argv []string) []string { return append(slices.Clone(pipefloor), argv...) }})
}

// Destinations of the (wrapped) child's stderr.
const (
	devNull = "devnull" // the floor: no reader, no disk
	file    = "file"    // a file on disk
	pipe    = "pipe"    // a pipe to cat (as to svlogd or a container runtime)
)

var destinations = []string{devNull, file, pipe}

// phase runs argv with stderr to dest and returns the time from the
// child's "start" stamp (on its stdout, passed through by every wrapper)
// to the moment the destination has everything: the process's exit, and
// for a pipe cat's too.
func phase(b *testing.B, dir, dest string, env []string, argv []string) time.Duration {
	b.Helper()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		b.Fatal(err)
	}
	defer stdout.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+filepath.Join(dir, "spool"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = stdout
	var cat *exec.Cmd
	var w *os.File
	switch dest {
	case devNull:
		cmd.Stderr = null
	case file:
		f, err := os.Create(filepath.Join(dir, "stderr"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		cmd.Stderr = f
	case pipe:
		// A plain pipe of the default size, as a shell makes, that no
		// poller of ours watches.
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		r := os.NewFile(uintptr(fds[0]), "|0")
		w = os.NewFile(uintptr(fds[1]), "|1")
		cat = exec.Command("cat")
		cat.Stdin, cat.Stdout = r, null
		if err := cat.Start(); err != nil {
			b.Fatal(err)
		}
		r.Close()
		cmd.Stderr = w
	}
	_ = cmd.Run() // a crash exits non-zero by design
	end := time.Now()
	if cat != nil {
		w.Close()
		if err := cat.Wait(); err != nil {
			b.Fatal(err)
		}
		end = time.Now()
	}
	return end.Sub(startStamp(b, stdout.Name()))
}

// startStamp reads the "start <unix ns>" line of the child's stdout.
func startStamp(b *testing.B, name string) time.Time {
	b.Helper()
	out, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "start "); ok {
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return time.Unix(0, ns)
		}
	}
	b.Fatalf("no start stamp on the child's stdout: %q", out)
	return time.Time{}
}

// samples are the timings of one benchmark, by label.
type samples map[string][]time.Duration

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// reportPassthrough reports each destination's medians and, for each
// wrapper, its ratio to the direct run into the same destination and to
// the direct run into /dev/null.
func reportPassthrough(b *testing.B, s samples, vs []variant) {
	floor := median(s[devNull+"/direct"])
	for _, dest := range destinations {
		direct := median(s[dest+"/direct"])
		for _, v := range vs {
			m := median(s[dest+"/"+v.name])
			b.ReportMetric(ms(m), "ms-"+dest+"-"+v.name)
			if v.name != "direct" {
				b.ReportMetric(float64(m)/float64(direct), "x-"+dest+"-"+v.name)
			}
			if dest != devNull {
				b.ReportMetric(float64(m)/float64(floor), "x-devnull-direct-"+dest+"-"+v.name)
			}
		}
	}
}

// runPassthrough runs every variant into every destination once per
// iteration, the order rotating.
func runPassthrough(b *testing.B, lazyFloor bool, env []string, argv ...string) {
	vs := passthroughVariants(b, lazyFloor)
	s := samples{}
	k := 0
	for i := 0; i < b.N; i++ {
		for _, dest := range destinations {
			for j := range vs {
				v := vs[(j+k)%len(vs)]
				d := phase(b, b.TempDir(), dest, env, v.wrap(argv))
				s[dest+"/"+v.name] = append(s[dest+"/"+v.name], d)
			}
			k++
		}
	}
	reportPassthrough(b, s, vs)
}

// BenchmarkDump: a Go program whose panic dumps N goroutines
// (GOTRACEBACK=all; the runtime prints a dump in writes of a few bytes);
// the dump phase, from the panic to the last byte at the destination, into
// /dev/null, a file and a pipe to cat, direct, under supervise alone,
// under prodwrap (whose time includes writing the report after the
// child's exit) and under the pipe floor (testdata/pipefloor). Targets (issue 18): prodwrap ≤ 1.3× direct into
// /dev/null, ≤ 1.0× direct into a file and into a pipe.
func BenchmarkDump(b *testing.B) {
	dumper := buildFloor(b, "dumper")
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			runPassthrough(b, true, []string{"GOTRACEBACK=all"}, dumper, "dump", strconv.Itoa(n))
		})
	}
}

// BenchmarkStderr1GiB: 1 GiB of stderr in 4 KiB writes, into the same three
// destinations. Target: ≤ 1.1× direct into /dev/null.
func BenchmarkStderr1GiB(b *testing.B) {
	dumper := buildFloor(b, "dumper")
	runPassthrough(b, false, nil, dumper, "write", strconv.Itoa(1<<30), "4096")
}

// BenchmarkTrickle: the log-line latency of a child writing 100 lines a
// second, from just before its write to the moment a reader of the
// wrapper's stderr pipe has the line; p50 and p99 over every line of every
// iteration, direct (the reader's own wake-up: the floor) and under each
// wrapper. Target: prodwrap's p99 ≤ 1 ms.
func BenchmarkTrickle(b *testing.B) {
	dumper := buildFloor(b, "dumper")
	vs := variants(b)
	lat := samples{}
	for i := 0; i < b.N; i++ {
		for j := range vs {
			v := vs[(i+j)%len(vs)]
			lat[v.name] = append(lat[v.name], trickle(b, b.TempDir(), v.wrap([]string{dumper, "trickle", "200", "100"}))...)
		}
	}
	for _, v := range vs {
		d := slices.Clone(lat[v.name])
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2])/1e3, "us-p50-"+v.name)
		b.ReportMetric(float64(d[len(d)*99/100])/1e3, "us-p99-"+v.name)
		b.ReportMetric(float64(d[len(d)-1])/1e3, "us-max-"+v.name)
	}
}

// trickle runs argv with stderr to a pipe read here and returns each
// line's latency.
func trickle(b *testing.B, dir string, argv []string) []time.Duration {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	// Blocking descriptors: the reader waits in read(2) on its own thread.
	r := os.NewFile(uintptr(fds[0]), "|0")
	w := os.NewFile(uintptr(fds[1]), "|1")
	defer r.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+filepath.Join(dir, "spool"))
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	var lat []time.Duration
	var line []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		now := time.Now().UnixNano()
		for _, c := range buf[:n] {
			if c != '\n' {
				line = append(line, c)
				continue
			}
			if v, ok := bytes.CutPrefix(line, []byte("t=")); ok {
				if t, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					lat = append(lat, time.Duration(now-t))
				}
			}
			line = line[:0]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
	if len(lat) != 200 {
		b.Fatalf("%d lines passed through, want 200", len(lat))
	}
	return lat
}

// BenchmarkStartup: a trivial child (/bin/true), direct and under
// prodwrap; beside them, in the same loop, the floor any Go supervisor pays
// (testdata/gowrap: os/exec with the twelve forwarded signals registered;
// built with -tags clientgolang, the same linking
// prometheus/client_golang as prodwrap does; with -tags sdks, linking
// sentry-go, slack-go and client_golang, the floor of the target's "with
// the SDKs linked"), supervise alone
// (testdata/supervised), and tini and dumb-init when they
// are installed (bench/run installs them). Medians of many starts.
// Target (issue 18): prodwrap's added start-up ≤ 2× gowrap's.
func BenchmarkStartup(b *testing.B) {
	gowrap := buildFloor(b, "gowrap")
	type starter struct {
		name string
		argv []string
	}
	// Every Go starter is copied afresh here, at the same moment: how fast
	// a binary starts depends on the state of its pages in the page cache,
	// and in a whole bench/run prodwrap's and supervised's binaries were
	// built fifteen minutes before the others (docs/benchmarks.md,
	// "Issue 18's fourth pass").
	dir := b.TempDir()
	starters := []starter{
		{"direct", []string{"/bin/true"}},
		{"gowrap", []string{freshCopy(b, gowrap, dir), "-signals", "/bin/true"}},
		{"gowrap+client_golang", []string{freshCopy(b, buildFloor(b, "gowrap", "clientgolang"), dir), "-signals", "/bin/true"}},
		{"gowrap+sdks", []string{freshCopy(b, buildFloor(b, "gowrap", "sdks"), dir), "-signals", "/bin/true"}},
		{"supervised", []string{freshCopy(b, buildFloor(b, "supervised"), dir), "/bin/true"}},
		{"prodwrap", []string{freshCopy(b, prodwrapBin(b), dir), "--", "/bin/true"}},
	}
	for _, name := range []string{"tini", "dumb-init"} {
		if p, err := exec.LookPath(name); err == nil {
			starters = append(starters, starter{name, []string{p, "--", "/bin/true"}})
		} else {
			b.Logf("%s not installed: not measured", name)
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	s := samples{}
	const rounds = 100 // a start is short: many per iteration, for a stable median
	for i := 0; i < b.N*rounds; i++ {
		for j := range starters {
			st := starters[(i+j)%len(starters)]
			cmd := exec.Command(st.argv[0], st.argv[1:]...)
			cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+filepath.Join(dir, "spool"))
			cmd.Stdout, cmd.Stderr = null, null
			start := time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatalf("%s: %v", st.name, err)
			}
			s[st.name] = append(s[st.name], time.Since(start))
		}
	}
	direct := median(s["direct"])
	b.ReportMetric(ms(direct), "ms-direct")
	for _, st := range starters[1:] {
		b.ReportMetric(ms(median(s[st.name])-direct), "ms-added-"+st.name)
	}
	b.ReportMetric(float64(median(s["prodwrap"])-direct)/float64(median(s["gowrap"])-direct), "x-added-prodwrap-gowrap")
	b.ReportMetric(float64(median(s["gowrap+sdks"])-direct)/float64(median(s["gowrap"])-direct), "x-added-gowrap+sdks-gowrap")
}

// buildFloor builds testdata/NAME, with the build tags given, the way
// prodwrapBin builds prodwrap.
func buildFloor(b *testing.B, name string, tags ...string) string {
	floorMu.Lock()
	defer floorMu.Unlock()
	key := name + "," + strings.Join(tags, ",")
	if p, ok := floors[key]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "prodwrap-bench-")
	if err != nil {
		b.Fatal(err)
	}
	builtDirs = append(builtDirs, dir)
	bin := filepath.Join(dir, name)
	if err := build(bin, "./testdata/"+name, tags...); err != nil {
		b.Fatal(err)
	}
	floors[key] = bin
	return bin
}

// freshCopy copies the binary bin into a directory of its own under dir
// and returns the copy's path.
func freshCopy(b *testing.B, bin, dir string) string {
	b.Helper()
	sub, err := os.MkdirTemp(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(sub, filepath.Base(bin))
	if err := copyBinary(bin, dst); err != nil {
		b.Fatal(err)
	}
	return dst
}

// build builds pkg statically (CGO_ENABLED=0, as the Dockerfile of
// docs/examples builds prodwrap) and installs a copy of the linker's output
// at bin, as a deployment does: a binary started from the file the linker
// wrote starts measurably slower than a byte-identical copy of it (about
// 0.9 ms for prodwrap, 0.3 ms for gowrap on this machine: the linker writes
// its output through a memory mapping), which would overstate every Go row
// and prodwrap's most.
func build(bin, pkg string, tags ...string) error {
	linked := bin + ".linked"
	cmd := exec.Command(zoo.GoTool(), "build", "-tags", strings.Join(tags, ","), "-o", linked, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, out)
	}
	defer os.Remove(linked)
	return copyBinary(linked, bin)
}

// copyBinary copies the executable src to a new file dst.
func copyBinary(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

var (
	floorMu sync.Mutex
	floors  = map[string]string{}
)

// BenchmarkReportLatency: from the child's exit (prodwrap's debug log line
// "child exited") to the event stored by the local Sentry receiver (it
// answers 200 once the envelope is in its buffer: prodwrap's debug line
// "sink acknowledged"). The event is also read back from the receiver.
// Targets: ≤ 200 ms for a one-goroutine panic, ≤ 2 s for a
// 100,000-goroutine dump.
func BenchmarkReportLatency(b *testing.B) {
	crasher := zoo.Build(b, zoo.Plain)
	rcv := testreceiver.StartSentry(b)
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"1-goroutine", nil, []string{"nil-deref"}},
		{"100k-goroutines", []string{"GOTRACEBACK=all"}, []string{"many-goroutines", "100000"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				before := len(rcv.ReceivedAt())
				dir := b.TempDir()
				cmd := exec.Command(prodwrapBin(b), append([]string{"--", crasher}, c.args...)...)
				cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+dir, "SENTRY_DSN="+rcv.DSN(), "PRODWRAP_FILE=false",
					"PRODWRAP_LOG_LEVEL=debug", "PRODWRAP_LOG_FORMAT=json")
				cmd.Env = append(cmd.Env, c.env...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				_ = cmd.Run()
				exited := logTime(b, stderr.Bytes(), "child exited")
				stored := logTime(b, stderr.Bytes(), "sink acknowledged")
				if n := len(rcv.Envelopes(before+1, 30*time.Second)); n != before+1 {
					b.Fatalf("receiver holds %d envelopes, want %d", n, before+1)
				}
				total += stored.Sub(exited)
			}
			b.ReportMetric(float64(total)/float64(b.N)/1e6, "ms-exit-to-stored")
		})
	}
}

// logTime finds prodwrap's JSON log line with message msg and returns its time.
func logTime(b *testing.B, stderr []byte, msg string) time.Time {
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"msg":"`+msg+`"`)) {
			continue
		}
		var rec struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(line, &rec); err == nil {
			return rec.Time
		}
	}
	b.Fatalf("no %q line in prodwrap's stderr:\n%s", msg, stderr)
	return time.Time{}
}
