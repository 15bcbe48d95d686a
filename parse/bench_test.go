package parse_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/maruel/panicparse/v2/stack"

	"github.com/prodwrap/prodwrap/internal/zoo"
	"github.com/prodwrap/prodwrap/parse"
)

// The parse benchmarks compare this package with maruel/panicparse/v2 on
// dumps made by a real Go program (the zoo's many-goroutines mode: varied
// states, depths of 5 to 30 frames), side by side in one run: MB/s from
// b.SetBytes, and each parser's peak RSS measured in a child process of its
// own (metric peak-MiB). PARSE_BENCH_HUGE=1 adds the 1,000,000-goroutine
// dump (about 2 GB on disk).

// rssHelperEnv makes the test binary a child that parses one file with one
// parser and prints its own peak RSS.
const rssHelperEnv = "PARSE_RSS_HELPER"

func TestMain(m *testing.M) {
	if which := os.Getenv(rssHelperEnv); which != "" {
		os.Exit(rssHelper(which, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

func rssHelper(which, path string) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer f.Close()
	if err := parseWith(which, f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0
}

func parseWith(which string, r io.Reader) error {
	switch which {
	case "prodwrap":
		c, err := parse.Parse(r, parse.DefaultOptions())
		if err == nil && c.Goroutines == 0 {
			err = errors.New("no goroutines")
		}
		return err
	case "panicparse":
		s, _, err := stack.ScanSnapshot(r, io.Discard, &stack.Opts{})
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if s == nil {
			return errors.New("panicparse found no snapshot")
		}
		_ = s.Aggregate(stack.AnyValue)
		return nil
	}
	return fmt.Errorf("unknown parser %q", which)
}

var (
	dumpsMu sync.Mutex
	dumps   = map[int]string{}
)

// dumpFile makes (once per run) the dump of a crash with n goroutines.
func dumpFile(b *testing.B, n int) string {
	dumpsMu.Lock()
	defer dumpsMu.Unlock()
	if p, ok := dumps[n]; ok {
		return p
	}
	bin := zoo.Build(b, zoo.Plain)
	dir, err := os.MkdirTemp("", "parse-bench-")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "dump.txt")
	zoo.WriteManyGoroutinesDump(b, bin, path, n)
	dumps[n] = path
	return path
}

func peakRSS(b *testing.B, which, path string) float64 {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^$", path)
	cmd.Env = append(os.Environ(), rssHelperEnv+"="+which)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s RSS helper: %v", which, err)
	}
	kb, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		b.Fatalf("%s RSS helper printed %q", which, out)
	}
	return kb / 1024
}

func BenchmarkParse(b *testing.B) {
	sizes := []int{1000, 10000, 100000}
	if os.Getenv("PARSE_BENCH_HUGE") == "1" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		for _, which := range []string{"prodwrap", "panicparse"} {
			if which == "panicparse" && n > 100000 {
				continue // needs about 18× the dump in memory
			}
			b.Run(fmt.Sprintf("goroutines=%d/%s", n, which), func(b *testing.B) {
				path := dumpFile(b, n)
				st, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(st.Size())
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f, err := os.Open(path)
					if err != nil {
						b.Fatal(err)
					}
					if err := parseWith(which, bufio.NewReaderSize(f, 1<<20)); err != nil {
						b.Fatal(err)
					}
					f.Close()
				}
				b.StopTimer()
				b.ReportMetric(peakRSS(b, which, path), "peak-MiB")
				b.ReportMetric(float64(st.Size())/(1<<20), "dump-MiB")
			})
		}
	}
}
