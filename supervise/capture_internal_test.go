package supervise

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func startsPanic(l []byte) bool { return bytes.HasPrefix(l, []byte("panic: ")) }

// feed writes s to c in pieces of n bytes, as reads of a pipe would cut it.
func feed(c *capturer, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		c.write([]byte(s[:k]))
		s = s[k:]
	}
}

func dumpText(t *testing.T, d *Dump) string {
	t.Helper()
	if d == nil {
		return "<nil>"
	}
	b, err := io.ReadAll(d.Reader())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCapture(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Capture
		in        string
		wantTail  []string
		wantDump  string
		wantTrunc bool
	}{
		{
			name:     "tail only",
			cfg:      Capture{TailLines: 2},
			in:       "a\nb\nc\n",
			wantTail: []string{"b", "c"},
			wantDump: "<nil>",
		},
		{
			// ü is two bytes: a cut after 5 bytes would split the third.
			name:     "a long line is cut between characters",
			cfg:      Capture{TailLines: 1, MaxLine: 5},
			in:       "üüüüüü\n",
			wantTail: []string{"üü" + cutMark},
			wantDump: "<nil>",
		},
		{
			name:      "a long header is cut between characters",
			cfg:       Capture{MaxLine: 5, StartsDump: func(l []byte) bool { return bytes.HasPrefix(l, []byte("p:")) }},
			in:        "p:üüü\ngoroutine 1\n",
			wantTail:  []string{},
			wantDump:  "p:ü" + cutMark + "\ngoroutine 1\n",
			wantTrunc: true,
		},
		{
			name:     "dump from the header to EOF",
			cfg:      Capture{StartsDump: startsPanic},
			in:       "log 1\nlog 2\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n",
			wantTail: []string{"log 1", "log 2"},
			wantDump: "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n",
		},
		{
			name:     "later headers stay inside the dump",
			cfg:      Capture{StartsDump: startsPanic},
			in:       "panic: first\nmore\npanic: second\n",
			wantTail: []string{},
			wantDump: "panic: first\nmore\npanic: second\n",
		},
		{
			name:     "long lines are cut in the tail",
			cfg:      Capture{MaxLine: 4},
			in:       "abcdefgh\nxy\n",
			wantTail: []string{"abcd…", "xy"},
			wantDump: "<nil>",
		},
		{
			name:     "last line without newline",
			cfg:      Capture{StartsDump: startsPanic},
			in:       "one\ntwo",
			wantTail: []string{"one", "two"},
			wantDump: "<nil>",
		},
		{
			name:     "header without newline at EOF",
			cfg:      Capture{StartsDump: startsPanic},
			in:       "one\npanic: cut",
			wantTail: []string{"one"},
			wantDump: "panic: cut\n",
		},
		{
			name:      "dump cut at MaxDump",
			cfg:       Capture{StartsDump: startsPanic, MaxDump: 16},
			in:        "panic: 0123456789abcdef\nrest\n",
			wantTail:  []string{},
			wantDump:  "panic: 012345678",
			wantTrunc: true,
		},
		{
			name:      "a new header after a cut dump starts over",
			cfg:       Capture{StartsDump: startsPanic, MaxDump: 16},
			in:        "panic: not really\nlots of logging\npanic: real\nend\n",
			wantTail:  []string{},
			wantDump:  "panic: real\nend\n",
			wantTrunc: false,
		},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			c := newCapturer(tt.cfg)
			feed(c, tt.in, chunk)
			tail, dump, _ := c.finish()
			if diff := cmp.Diff(tt.wantTail, tail); diff != "" {
				t.Errorf("%s (chunks of %d): tail mismatch (-want +got):\n%s", tt.name, chunk, diff)
			}
			if got := dumpText(t, dump); got != tt.wantDump {
				t.Errorf("%s (chunks of %d): dump = %q, want %q", tt.name, chunk, got, tt.wantDump)
			}
			if dump != nil && dump.Truncated != tt.wantTrunc {
				t.Errorf("%s (chunks of %d): Truncated = %v, want %v", tt.name, chunk, dump.Truncated, tt.wantTrunc)
			}
			c.close()
		}
	}
}

func TestDumpSpillsToFile(t *testing.T) {
	dir := t.TempDir()
	c := newCapturer(Capture{StartsDump: startsPanic, MemoryDump: 10, MaxDump: 1 << 20, SpillDir: dir})
	body := "panic: x\n" + strings.Repeat("goroutine line\n", 1000)
	feed(c, body, 7)
	_, dump, _ := c.finish()
	if got := dumpText(t, dump); got != body {
		t.Errorf("spilled dump differs: %d bytes, want %d", len(got), len(body))
	}
	if len(dump.Bytes(1<<20)) != 10 {
		t.Errorf("memory part is %d bytes, want 10", len(dump.Bytes(1<<20)))
	}
	if err := dump.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("spill files left after Close: %v", left)
	}
}

func TestDumpWithoutSpillDirIsCut(t *testing.T) {
	c := newCapturer(Capture{StartsDump: startsPanic, MemoryDump: 10, MaxDump: 1 << 20, SpillDir: "/nonexistent/dir"})
	feed(c, "panic: x\nmore than ten bytes\n", 100)
	_, dump, _ := c.finish()
	if !dump.Truncated || dump.SpillErr == nil {
		t.Errorf("Truncated %v SpillErr %v, want true and an error", dump.Truncated, dump.SpillErr)
	}
	if got := dumpText(t, dump); got != "panic: x\nm" {
		t.Errorf("dump = %q", got)
	}
}
