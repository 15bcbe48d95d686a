package parse_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/parse"
)

func TestParseTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    func(c *parse.Crash) string // returns a complaint, "" when fine
		wantErr error
	}{
		{
			name:    "empty",
			in:      "",
			wantErr: parse.ErrNoCrash,
		},
		{
			name:    "log lines only",
			in:      "starting\nlistening on :8080\nshutting down\n",
			wantErr: parse.ErrNoCrash,
		},
		{
			name:    "a panic-looking log line followed by more logging is no crash",
			in:      "panic: not really\nstill serving\nrequest 1\nrequest 2\nrequest 3\n",
			wantErr: parse.ErrNoCrash,
		},
		{
			name:    "a mid-line panic: mention without a dump is no crash",
			in:      "level=error msg=\"recovered panic: boom\"\n",
			wantErr: parse.ErrNoCrash,
		},
		{
			name: "the last dump wins",
			in:   "panic: first\n\ngoroutine 1 [running]:\nmain.a()\n\t/x/a.go:1 +0x1\n\nlater log\npanic: second\n\ngoroutine 2 [running]:\nmain.b()\n\t/x/b.go:2 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Message != "second" || c.Goroutine.ID != 2 {
					return "took an earlier dump"
				}
				return ""
			},
		},
		{
			name: "dump starting mid-line after a log line",
			in:   "2026/11/24 request started, no newline yetpanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/main.go:3 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindPanic || c.Message != "boom" || c.TopFrame == nil || c.TopFrame.Line != 3 {
					return "mid-line header not found"
				}
				return ""
			},
		},
		{
			name: "goexit deadlock",
			in:   "fatal error: no goroutines (main called runtime.Goexit) - deadlock!\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindDeadlock || c.Crashing {
					return "want kind deadlock, not crashing"
				}
				return ""
			},
		},
		{
			name: "old out of memory",
			in:   "fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:1 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindOOM {
					return "want oom"
				}
				return ""
			},
		},
		{
			name: "buckets group identical stacks whatever the arguments",
			in: "panic: x\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:1 +0x1\n\n" +
				strings.Repeat("goroutine 9 [chan receive]:\nmain.w(0xc000010000, ?)\n\t/x/w.go:5 +0x2\ncreated by main.main in goroutine 1\n\t/x/m.go:2 +0x3\n\n", 5) +
				"goroutine 10 [select]:\nmain.s()\n\t/x/s.go:7 +0x2\n",
			want: func(c *parse.Crash) string {
				if c.Goroutines != 7 || len(c.Buckets) != 2 || c.Buckets[0].Count != 5 || c.Buckets[0].State != "chan receive" {
					return "bad buckets"
				}
				return ""
			},
		},
		{
			name: "android logcat prefix",
			in:   "E/Go: panic: boom\nE/Go: \nE/Go: goroutine 1 [running]:\nE/Go: main.main()\nE/Go: \t/x/m.go:4 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Message != "boom" || c.TopFrame == nil || c.TopFrame.Line != 4 {
					return "logcat prefix not stripped"
				}
				return ""
			},
		},
		{
			name: "kubernetes CRI prefix",
			in:   "2026-11-24T10:00:00.123456789Z stderr F panic: boom\n2026-11-24T10:00:00.123456789Z stderr F \n2026-11-24T10:00:00.123456789Z stderr F goroutine 1 [running]:\n2026-11-24T10:00:00.123456789Z stderr F main.main()\n2026-11-24T10:00:00.123456789Z stderr F \t/x/m.go:4 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Message != "boom" || c.Goroutine == nil || c.Goroutine.ID != 1 {
					return "CRI prefix not stripped"
				}
				return ""
			},
		},
		{
			name: "in_app from the main module",
			in:   "panic: x\n\ngoroutine 1 [running]:\ngithub.com/lib/pq.(*conn).query()\n\t/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go:10 +0x1\nexample.com/api/db.Load()\n\t/src/api/db/load.go:20 +0x1\nmain.main()\n\t/src/api/main.go:3 +0x1\n",
			want: func(c *parse.Crash) string {
				fs := c.Goroutine.Frames
				if fs[0].InApp || !fs[1].InApp || !fs[2].InApp || c.Culprit.Function != "example.com/api/db.Load" || c.TopFrame.Function != "github.com/lib/pq.(*conn).query" {
					return "in_app/culprit wrong"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse.Parse(strings.NewReader(tt.in), parse.DefaultOptions())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %+v, %v; want error %v", c, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.want(c); msg != "" {
				t.Errorf("%s: %+v goroutine %+v", msg, c, c.Goroutine)
			}
		})
	}
}

func TestStartsDump(t *testing.T) {
	yes := []string{"panic: x", "fatal error: y", "SIGQUIT: quit", "SIGSEGV: segmentation violation", "WARNING: DATA RACE", "runtime: out of memory", "Exception 0xc0000005 0x8 0x0 0x0", "goroutine 1 [running]:"}
	no := []string{"", "pani", "level=error panic: x", "SIGTERM received", "goroutines: 5", "Goroutine 7 (running) created at:", " panic: x", "Exception 0xc0000005 in the plugin", "Exception 0x1 0x2 0x3", "Exception 0x1 0x2 0x3 0x4 0x5"}
	for _, l := range yes {
		if !parse.StartsDump([]byte(l)) {
			t.Errorf("StartsDump(%q) = false", l)
		}
	}
	for _, l := range no {
		if parse.StartsDump([]byte(l)) {
			t.Errorf("StartsDump(%q) = true", l)
		}
	}
	for _, l := range yes {
		if want := !strings.HasPrefix(l, "goroutine"); parse.StartsHeader([]byte(l)) != want {
			t.Errorf("StartsHeader(%q) = %v", l, !want)
		}
	}
	for _, l := range []string{"goroutine 12 [select]:", "Exception 0xc0000005 0x8 0x0 0x0", "\t/src/app/main.go:12 +0x1d"} {
		if n := testing.AllocsPerRun(100, func() { parse.StartsDump([]byte(l)) }); n != 0 {
			t.Errorf("StartsDump(%q) allocates %v times", l, n)
		}
	}
}

// TestReadersGiveTheSameCrash: one byte at a time, half reads and a
// timeout in the middle give what a whole read gives; an error mid-stream
// is returned, wrapped.
func TestReadersGiveTheSameCrash(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, f := range files {
		in, _ := os.ReadFile(f)
		want, err := parse.Parse(bytes.NewReader(in), testdataOptions(in))
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"OneByteReader": iotest.OneByteReader(bytes.NewReader(in)),
			"HalfReader":    iotest.HalfReader(bytes.NewReader(in)),
			"DataErrReader": iotest.DataErrReader(bytes.NewReader(in)),
		} {
			got, err := parse.Parse(r, testdataOptions(in))
			if err != nil {
				t.Fatalf("%s %s: %v", f, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s via %s mismatch (-whole +%s):\n%s", f, name, name, diff)
			}
		}
		boom := errors.New("disk gone")
		_, err = parse.Parse(io.MultiReader(bytes.NewReader(in[:len(in)/2]), iotest.ErrReader(boom)), testdataOptions(in))
		if !errors.Is(err, boom) {
			t.Errorf("%s: an error mid-stream gave %v, want it wrapped", f, err)
		}
	}
}

func TestHugeLineIsBounded(t *testing.T) {
	// 8 MiB without a newline, then a real dump: the line is cut, the dump found.
	in := io.MultiReader(strings.NewReader(strings.Repeat("x", 8<<20)), strings.NewReader("\npanic: after\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:1 +0x1\n"))
	c, err := parse.Parse(in, parse.DefaultOptions())
	if err != nil || c.Message != "after" {
		t.Fatalf("got %+v %v", c, err)
	}
}

func TestChainsAndRacesAreBounded(t *testing.T) {
	in := "panic: first [recovered]\n" + strings.Repeat("\tpanic: again [recovered]\n", 10000) + "\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:1 +0x1\n"
	c, err := parse.Parse(strings.NewReader(in), parse.DefaultOptions())
	if err != nil || len(c.Panics) > 16 || !c.Truncated {
		t.Errorf("re-panic chain: %d kept, truncated %v, %v", len(c.Panics), c.Truncated, err)
	}
	race := "WARNING: DATA RACE\n" + strings.Repeat("Read at 0x1 by goroutine 2:\n  main.f()\n      /x/f.go:1 +0x1\n\n", 10000) + "==================\n"
	c, err = parse.Parse(strings.NewReader(race), parse.DefaultOptions())
	if err != nil || len(c.Races) != 1 || len(c.Races[0].Accesses) > 16 {
		t.Errorf("race accesses kept: %v %v", c, err)
	}
}

func TestBinaryGarbageIsNoCrash(t *testing.T) {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	if _, err := parse.Parse(bytes.NewReader(b), parse.DefaultOptions()); !errors.Is(err, parse.ErrNoCrash) {
		t.Errorf("binary garbage: %v, want ErrNoCrash", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Add([]byte("panic: x\n\ngoroutine 1 [running]:\nmain.main(...)\n\t/x.go:1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		// How the process ended comes from the input's first byte, so that
		// the rules for stacks without a header are explored with each
		// (unknown, exit 1, exit 2, SIGABRT) and the corpus keeps its format.
		o := parse.Options{MaxLine: 512, MaxFrames: 16, MaxBuckets: 8}
		if len(in) > 0 {
			switch in[0] % 4 {
			case 1:
				o.ExitCode = 1
			case 2:
				o.ExitCode = 2
			case 3:
				o.ExitSignal = 6
			}
		}
		c, err := parse.Parse(bytes.NewReader(in), o)
		if err != nil {
			if !errors.Is(err, parse.ErrNoCrash) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if c.Kind == "" || c.Goroutines < 0 || len(c.Buckets) > 8 {
			t.Fatalf("bad crash %+v", c)
		}
		if c.Goroutine != nil && len(c.Goroutine.Frames) > 16 {
			t.Fatalf("frame cap broken: %d", len(c.Goroutine.Frames))
		}
		var buf bytes.Buffer
		if err := parse.WriteText(&buf, c); err != nil {
			t.Fatal(err)
		}
	})
}
