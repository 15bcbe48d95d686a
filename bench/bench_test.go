// Package bench measures what prodwrap costs the service it wraps: the same
// child run directly and under the real prodwrap binary, side by side in one
// run, reported as ratios (bench/run writes them to docs/benchmarks.md).
// These are benchmarks, not tests: nothing here asserts on time.
package bench_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/internal/zoo"
)

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
		binPath = filepath.Join(dir, "prodwrap")
		// Static, as the Dockerfile of docs/examples builds it.
		cmd := exec.Command(zoo.GoTool(), "build", "-o", binPath, "github.com/prodwrap/prodwrap/cmd/prodwrap")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = err
			b.Logf("%s", out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return binPath
}

// runTo runs argv (under prodwrap when wrapped) with stderr to a file in
// dir and returns the wall time and the file.
func runTo(b *testing.B, dir string, wrapped bool, env []string, argv ...string) (time.Duration, string) {
	b.Helper()
	if wrapped {
		argv = append([]string{prodwrapBin(b), "--"}, argv...)
	}
	out := filepath.Join(dir, "stderr")
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+filepath.Join(dir, "spool"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = f
	start := time.Now()
	_ = cmd.Run() // the crashers exit non-zero by design
	return time.Since(start), out
}

// dumpPhase returns the time from the crasher's "zoo: dump-start=" stamp to end.
func dumpPhase(b *testing.B, stderrFile string, end time.Time) time.Duration {
	f, err := os.Open(stderrFile)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("zoo: dump-start=")); ok {
			ns, _ := strconv.ParseInt(string(v), 10, 64)
			return end.Sub(time.Unix(0, ns))
		}
	}
	b.Fatal("no dump-start stamp")
	return 0
}

// BenchmarkDump100k: a Go program whose crash dumps 100,000 goroutines
// (GOTRACEBACK=all); the dump phase, from the panic to the end of the
// process, direct and under prodwrap. Target: within 1.3×.
func BenchmarkDump100k(b *testing.B) {
	crasher := zoo.Build(b, zoo.Plain)
	env := []string{"GOTRACEBACK=all"}
	var direct, wrapped time.Duration
	for i := 0; i < b.N; i++ {
		for _, w := range []bool{false, true} {
			dir := b.TempDir()
			start := time.Now()
			d, out := runTo(b, dir, w, env, crasher, "many-goroutines", "100000")
			phase := dumpPhase(b, out, start.Add(d))
			if w {
				wrapped += phase
			} else {
				direct += phase
			}
		}
	}
	report(b, direct, wrapped)
}

// BenchmarkStderr1GiB: 1 GiB of 4 KiB stderr writes to a file on disk,
// direct and under prodwrap. Target: within 1.5×.
func BenchmarkStderr1GiB(b *testing.B) {
	crasher := zoo.Build(b, zoo.Plain)
	var direct, wrapped time.Duration
	for i := 0; i < b.N; i++ {
		for _, w := range []bool{false, true} {
			d, _ := runTo(b, b.TempDir(), w, nil, crasher, "write-stderr", strconv.Itoa(1<<30), "4096")
			if w {
				wrapped += d
			} else {
				direct += d
			}
		}
	}
	b.SetBytes(1 << 30)
	report(b, direct, wrapped)
}

// BenchmarkStartup: a trivial child (/bin/true), direct and under
// prodwrap. Target: under 2 ms added. Beside them, in the same loop, the
// floor any Go supervisor pays (testdata/gowrap: os/exec alone, then with
// the forwarded signals registered, then with the same signals and
// prometheus/client_golang linked, as prodwrap links it for its metrics)
// and supervise alone (testdata/supervised), so that the figure can be
// read against what Go and client_golang themselves cost.
func BenchmarkStartup(b *testing.B) {
	var direct, wrapped, floor, floorSignals, floorClientGolang, floorSupervise time.Duration
	dir := b.TempDir()
	gowrap := buildFloor(b, "gowrap")
	gowrapClientGolang := buildFloor(b, "gowrap", "clientgolang")
	supervised := buildFloor(b, "supervised")
	const rounds = 100 // a start is short: many per iteration, for a stable mean
	for i := 0; i < b.N*rounds; i++ {
		d, _ := runTo(b, dir, false, nil, "/bin/true")
		direct += d
		d, _ = runTo(b, dir, true, nil, "/bin/true")
		wrapped += d
		d, _ = runTo(b, dir, false, nil, gowrap, "/bin/true")
		floor += d
		d, _ = runTo(b, dir, false, nil, gowrap, "-signals", "/bin/true")
		floorSignals += d
		d, _ = runTo(b, dir, false, nil, gowrapClientGolang, "-signals", "/bin/true")
		floorClientGolang += d
		d, _ = runTo(b, dir, false, nil, supervised, "/bin/true")
		floorSupervise += d
	}
	n := float64(b.N*rounds) * 1e6
	b.ReportMetric(float64(direct)/n, "ms-direct")
	b.ReportMetric(float64(wrapped)/n, "ms-prodwrap")
	b.ReportMetric(float64(wrapped)/float64(direct), "ratio")
	b.ReportMetric(float64(wrapped-direct)/n, "ms-added")
	b.ReportMetric(float64(floor-direct)/n, "ms-added-go-exec")
	b.ReportMetric(float64(floorSignals-direct)/n, "ms-added-go-exec+signals")
	b.ReportMetric(float64(floorClientGolang-direct)/n, "ms-added-go-exec+signals+client_golang")
	b.ReportMetric(float64(floorSupervise-direct)/n, "ms-added-supervise")
}

// buildFloor builds testdata/NAME, with the build tags given, the way
// prodwrapBin builds prodwrap.
func buildFloor(b *testing.B, name string, tags ...string) string {
	bin := filepath.Join(b.TempDir(), name)
	cmd := exec.Command(zoo.GoTool(), "build", "-tags", strings.Join(tags, ","), "-o", bin, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

func report(b *testing.B, direct, wrapped time.Duration) {
	b.ReportMetric(float64(direct)/float64(b.N)/1e6, "ms-direct")
	b.ReportMetric(float64(wrapped)/float64(b.N)/1e6, "ms-prodwrap")
	b.ReportMetric(float64(wrapped)/float64(direct), "ratio")
}

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
