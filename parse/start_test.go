package parse_test

import (
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/parse"
)

// TestStart: Crash.Start is where the dump the Crash describes begins, so
// that input[Start:] is that dump and no caller has to find it again.
func TestStart(t *testing.T) {
	const dump1 = "panic: first\n\ngoroutine 1 [running]:\nmain.a()\n\t/x/a.go:1 +0x1\n"
	const dump2 = "fatal error: concurrent map writes\n\ngoroutine 9 [running]:\nmain.b()\n\t/x/b.go:2 +0x1\n"
	const cri = "2026-11-24T10:00:00.123456789Z stderr F "
	long := strings.Repeat("x", 200<<10) // beyond the reader's buffer
	tests := []struct {
		name string
		in   string
		want string // the input from Start on begins with this
	}{
		{"a dump alone", dump1, "panic: first\n"},
		{"log lines then a dump", "starting\nlistening on :8080\n" + dump1, "panic: first\n"},
		{"several dumps and log lines: the last dump", "log 1\n" + dump1 + "\nrestarted\nlog 2\n" + dump2, "fatal error: concurrent map writes\n"},
		{"a panic-looking log line after the dump does not move it", "log\n" + dump1 + "\n", "panic: first\n"},
		{"runtime lines before the header belong to the dump", "log\nruntime: out of memory: cannot allocate 8192-byte block (1 in use)\nfatal error: out of memory\n\ngoroutine 1 [running]:\nmain.m()\n\t/x/m.go:1 +0x1\n", "runtime: out of memory: cannot allocate"},
		{"a race report starts at its separator", "log\n==================\nWARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  main.f()\n      /x/f.go:1 +0x1\n==================\n==================\nWARNING: DATA RACE\nRead at 0x2 by goroutine 8:\n  main.g()\n      /x/g.go:2 +0x1\n==================\n", "==================\nWARNING: DATA RACE\nWrite at 0x1"},
		{"a signal report", "log\nSIGQUIT: quit\nPC=0x46b2c1 m=0 sigcode=0\n\ngoroutine 1 [select]:\nmain.main()\n\t/x/m.go:1 +0x1\n", "SIGQUIT: quit\n"},
		{"a header in the middle of a line", "request started, no newline yet" + dump1, dump1},
		{"a log prefix is part of the line", "log\n" + cri + "panic: boom\n" + cri + "\n" + cri + "goroutine 1 [running]:\n" + cri + "main.main()\n" + cri + "\t/x/m.go:4 +0x1\n", cri + "panic: boom\n"},
		{"CRLF lines", "log\r\n" + strings.ReplaceAll(dump1, "\n", "\r\n"), "panic: first\r\n"},
		{"after a line longer than the buffer", "log\n" + long + "\n" + dump2, "fatal error: concurrent"},
		{"a long line inside the dump", dump2 + long + "\n", "fatal error: concurrent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse.Parse(strings.NewReader(tt.in), parse.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if c.Start < 0 || c.Start > int64(len(tt.in)) {
				t.Fatalf("Start = %d, outside the input of %d bytes", c.Start, len(tt.in))
			}
			if got := tt.in[c.Start:]; !strings.HasPrefix(got, tt.want) {
				t.Errorf("Start = %d: input from there is %.60q, want it to begin with %.60q", c.Start, got, tt.want)
			}
		})
	}
}
