package parse_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/parse"
)

// TestNotACrash: inputs that look like part of a crash but are not one.
func TestNotACrash(t *testing.T) {
	for name, in := range map[string]string{
		// A real panic prints its goroutine (runtime/panic.go fatalpanic);
		// a "panic: " line alone, exit status 1, is the program's own.
		"a bare panic line":                        "panic: boom\n",
		"a bare panic line, then exit status":      "starting\npanic: config missing\nexit status 1\n",
		"a bare panic line in a CRI log":           "2024-01-01T00:00:00.000000000Z stderr F panic: boom\n2024-01-01T00:00:00.000000000Z stderr F \n",
		"a bare multi-line panic":                  "panic: bad input\nline 2 of the value\nline 3\n\n",
		"a bare timeout line":                      "panic: test timed out after 10m0s\n",
		"a cut header with nothing after it":       "error: unexpected signal during runtime execution\n",
		"log lines that end like a header":         "error: connection refused\nretrying\nerror: connection refused\nretrying\nerror: gave up\n",
		"a logged debug.Stack":                     "recovered: boom\ngoroutine 7 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\nmain.handle.func1()\n\t/src/app/main.go:12 +0x45\npanic({0x4a1b20?, 0x5f3c10?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\nmain.handle()\n\t/src/app/main.go:15 +0x2b\n\nstill serving\n",
		"pprof goroutine debug=2 in a log":         "goroutine 18 [running]:\nruntime/pprof.writeGoroutineStacks({0x5d2a40, 0xc000012345})\n\t/usr/local/go/src/runtime/pprof/pprof.go:761 +0x6a\nruntime/pprof.writeGoroutine({0x5d2a40?, 0xc000012345?}, 0x2)\n\t/usr/local/go/src/runtime/pprof/pprof.go:750 +0x25\nmain.debugDump()\n\t/src/app/debug.go:12 +0x3c\ncreated by main.main in goroutine 1\n\t/src/app/main.go:8 +0x1f\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:9 +0x25\n\ngoroutine 6 [select]:\nmain.loop()\n\t/src/app/loop.go:3 +0x1\n",
		"runtime.Stack of all goroutines in a log": "dumping goroutines\ngoroutine 7 [running]:\nmain.dumpAll()\n\t/src/app/debug.go:20 +0x4a\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:9 +0x25\nserver still up\n",
		"net/http logs a recovered panic":          "http: panic serving 127.0.0.1:51234: boom\ngoroutine 21 [running]:\nnet/http.(*conn).serve.func1()\n\t/usr/local/go/src/net/http/server.go:1947 +0xbe\npanic({0x6a5e40?, 0x7b4f60?})\n\t/usr/local/go/src/runtime/panic.go:785 +0x132\nmain.handler({0x7b9a18?, 0xc0001420e0?}, 0x0?)\n\t/src/app/handler.go:14 +0x25\nnet/http.HandlerFunc.ServeHTTP(0x0?, {0x7b9a18?, 0xc0001420e0?}, 0x0?)\n\t/usr/local/go/src/net/http/server.go:2220 +0x29\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3360 +0x485\n",
		"a runtime line alone":                     "runtime: note: your Linux kernel may be buggy\nstarted\n",
		"an Exception word that is not Windows's":  "Exception 0xc0000005 happened in the plugin, retrying\n",
		"a log line starting with a signal name":   "SIGTERM: shutting down\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := parse.Parse(strings.NewReader(in), parse.DefaultOptions())
			if !errors.Is(err, parse.ErrNoCrash) {
				t.Errorf("got %+v, %v; want ErrNoCrash", c, err)
			}
		})
	}
}

// TestFamilies checks single facts of the families of issue 15 that the
// goldens do not show by themselves.
func TestFamilies(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts func(*parse.Options)
		want func(c *parse.Crash) string
	}{
		{
			name: "cgo wrapper is not the culprit, also with the main module known",
			in:   "SIGSEGV: segmentation violation\nPC=0x4a1b36 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution\n\ngoroutine 1 [syscall]:\nruntime.cgocall(0x4a1b20, 0xc00006af30)\n\t/usr/local/go/src/runtime/cgocall.go:157 +0x4b\nmain._Cfunc_crash()\n\t_cgo_gotypes.go:39 +0x3f\nmain.main()\n\t/src/app/main.go:14 +0x17\n",
			opts: func(o *parse.Options) { o.MainModule = "example.com/app" },
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindSignal || c.Culprit == nil || c.Culprit.Function != "main.main" || c.Goroutine.Frames[1].InApp {
					return "culprit should be main.main, _Cfunc_crash not in_app"
				}
				return ""
			},
		},
		{
			name: "internal/sync.fatal is never the top frame",
			in:   "fatal error: sync: unlock of unlocked mutex\n\ngoroutine 1 [running]:\ninternal/sync.fatal({0x4c2a37?, 0x0?})\n\t/usr/local/go/src/runtime/panic.go:1068 +0x18\nmain.main()\n\t/src/app/main.go:9 +0x3a\n",
			want: func(c *parse.Crash) string {
				if c.TopFrame == nil || c.TopFrame.Function != "main.main" {
					return "top frame should skip internal/sync.fatal"
				}
				return ""
			},
		},
		{
			name: "a race report of Go 1.2 names the access, not the creation",
			in:   "==================\nWARNING: DATA RACE\nRead by goroutine 5:\n  main.func·001()\n     race.go:14 +0x169\n\nGoroutine 5 (running) created at:\n  time.goFunc()\n      src/pkg/time/sleep.go:122 +0x56\n==================\n",
			want: func(c *parse.Crash) string {
				if c.Message != "data race: read by goroutine 5" || c.Goroutine.CreatedBy == nil || c.Goroutine.CreatedBy.Function != "time.goFunc" || c.TopFrame.Function != "main.func·001" {
					return "old race report misread"
				}
				return ""
			},
		},
		{
			name: "a race report then a panic: the panic is the crash, the races kept",
			in:   "==================\nWARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  main.f()\n      /x/f.go:1 +0x1\n==================\npanic: boom\n\ngoroutine 7 [running]:\nmain.f()\n\t/x/f.go:2 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindPanic || len(c.Races) != 1 {
					return "want a panic with one race"
				}
				return ""
			},
		},
		{
			name: "a cut panic header after a log line that mentions a panic",
			in:   "level=info msg=\"saw panic: earlier\"\nnic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:3 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindPanic || c.Message != "boom" {
					return "cut header not read"
				}
				return ""
			},
		},
		{
			name: "^\\ echo before a SIGQUIT dump",
			in:   "^\\SIGQUIT: quit\nPC=0x4735a1 m=0 sigcode=128\n\ngoroutine 1 [select]:\nmain.main()\n\t/x/m.go:1 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindSigquit || c.Crashing {
					return "want sigquit"
				}
				return ""
			},
		},
		{
			name: "out of memory whose fatal error line was lost",
			in:   "runtime: out of memory: cannot allocate 4194304-byte block (3221225472 in use)\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/m.go:1 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindOOM || c.Message != "out of memory" || c.Start != 0 {
					return "want oom from the runtime line"
				}
				return ""
			},
		},
		{
			name: "a headerless goroutine growing its stack",
			in:   "goroutine 1 [running]:\nruntime.morestack()\n\t/usr/local/go/src/runtime/asm_amd64.s:616 +0x7a\nmain.f()\n\t/x/m.go:4 +0x1\n",
			want: func(c *parse.Crash) string {
				if c.Kind != parse.KindStackOverflow || c.TopFrame == nil || c.TopFrame.Function != "main.f" {
					return "want stack_overflow at main.f"
				}
				return ""
			},
		},
		{
			name: "windows panic signal code gets its exception name",
			in:   "panic: runtime error: invalid memory address or nil pointer dereference\n[signal 0xc0000005 code=0x0 addr=0x0 pc=0x6b2e4c]\n\ngoroutine 1 [running]:\nmain.main()\n\tC:/src/app/main.go:9 +0x1c\n",
			want: func(c *parse.Crash) string {
				if c.Signal == nil || c.Signal.Name != "EXCEPTION_ACCESS_VIOLATION" {
					return "want EXCEPTION_ACCESS_VIOLATION"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parse.DefaultOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			c, err := parse.Parse(strings.NewReader(tt.in), o)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.want(c); msg != "" {
				t.Errorf("%s: %+v goroutine %+v", msg, c, c.Goroutine)
			}
		})
	}
}

// TestHeadlessStacksNeedTheirEvidence: goroutine stacks whose header was
// lost count as a crash only on evidence a dying runtime leaves (headless.go):
// the same stacks read as a crash or as a program's own output depending on
// what they show and on how the process ended.
func TestHeadlessStacksNeedTheirEvidence(t *testing.T) {
	const (
		running  = "goroutine 1 [running]:\nmain.load(0x0)\n\t/src/app/load.go:12 +0x1d\nmain.main()\n\t/src/app/main.go:8 +0x25\n"
		blocked  = "goroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:9 +0x25\n\ngoroutine 6 [select]:\nmain.loop()\n\t/src/app/loop.go:3 +0x1\ncreated by main.main in goroutine 1\n\t/src/app/main.go:7 +0x1f\n"
		sleeping = "goroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:9 +0x25\n\ngoroutine 6 [sleep]:\ntime.Sleep(0x3b9aca00)\n\t/usr/local/go/src/runtime/time.go:300 +0x11d\nmain.tick()\n\t/src/app/tick.go:5 +0x1\n"
		throws   = "goroutine 7 [running]:\nruntime.throw({0x4b6a3e?, 0x0?})\n\t/usr/local/go/src/runtime/panic.go:992 +0x71\nruntime.mapaccess2_faststr(0x4a4e20, 0xc000070180, {0x4b2f6b, 0x3})\n\t/usr/local/go/src/runtime/map_faststr.go:117 +0x3d4\nmain.get()\n\t/src/app/cache.go:9 +0x5b\n"
		debugStk = "goroutine 1 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\nmain.main()\n\t/src/app/main.go:8 +0x25\n"
	)
	type exit struct{ code, signal int }
	tests := []struct {
		name string
		in   string
		exit exit
		want parse.Kind // "" for ErrNoCrash
	}{
		{"a running stack, exit unknown (a saved log)", running, exit{}, ""},
		{"a running stack, exit 1 (log.Fatal after logging it)", running, exit{code: 1}, ""},
		{"a running stack, exit 2", running, exit{code: 2}, parse.KindPanic},
		{"a running stack, SIGABRT (GOTRACEBACK=crash)", running, exit{signal: 6}, parse.KindPanic},
		{"a running stack, SIGKILL", running, exit{signal: 9}, ""},
		{"a running stack, exit 2, but log lines follow it", running + "still serving\n", exit{code: 2}, ""},
		{"every goroutine blocked, exit unknown", blocked, exit{}, parse.KindDeadlock},
		{"every goroutine blocked, in the middle of a log", "starting\n" + blocked + "systemd: service exited\n", exit{}, parse.KindDeadlock},
		{"every goroutine blocked, exit 1", blocked, exit{code: 1}, ""},
		{"one goroutine asleep: a timer could wake it, no deadlock", sleeping, exit{}, ""},
		{"one goroutine asleep, exit 2: a SIGQUIT dump", sleeping, exit{code: 2}, parse.KindSigquit},
		{"runtime.throw in the first stack, exit unknown", throws, exit{}, parse.KindFatalError},
		{"runtime.throw in the first stack, exit 3", throws, exit{code: 3}, ""},
		{"debug.Stack, exit 2", debugStk, exit{code: 2}, ""},
		{"debug.Stack followed by blocked goroutines", debugStk + "\n" + blocked, exit{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parse.DefaultOptions()
			o.ExitCode, o.ExitSignal = tt.exit.code, tt.exit.signal
			c, err := parse.Parse(strings.NewReader(tt.in), o)
			switch {
			case tt.want == "" && !errors.Is(err, parse.ErrNoCrash):
				t.Errorf("got %+v, %v; want ErrNoCrash", c, err)
			case tt.want != "" && err != nil:
				t.Errorf("got %v; want kind %s", err, tt.want)
			case tt.want != "" && (c.Kind != tt.want || !strings.HasPrefix(c.Inferred, "header lost: ")):
				t.Errorf("got kind %s, inferred %q; want kind %s, inferred", c.Kind, c.Inferred, tt.want)
			case tt.want != "" && c.Message == "" && c.Headline() != "("+c.Inferred+")":
				t.Errorf("Headline() = %q with no message: want the evidence", c.Headline())
			}
		})
	}
}
