package supervise

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestCaptureSameWhateverTheReads: the tail and the dump do not depend on
// how the reads cut the stream — a whole read goes to the dump at once
// while nothing in it can end the capture, line by line otherwise.
func TestCaptureSameWhateverTheReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 1))
	var b strings.Builder
	for i := range 3000 {
		switch rng.IntN(40) {
		case 0:
			fmt.Fprintf(&b, "panic: boom %d\n", i)
		case 1:
			b.WriteString(strings.Repeat("y", rng.IntN(300)) + "\n")
		default:
			fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", rng.IntN(40)))
		}
	}
	b.WriteString("an open last line")
	in := b.String()
	for _, cfg := range []Capture{
		{StartsDump: startsPanic, TailLines: 5, MaxLine: 64},
		{StartsDump: startsPanic, TailLines: 5, MaxLine: 64, MaxDump: 10 << 10, MemoryDump: 4 << 10, SpillDir: t.TempDir()},
		{StartsDump: startsPanic, MaxDump: 3000, MemoryDump: 3000},
	} {
		type result struct {
			tail  []string
			dump  string
			trunc bool
			open  bool
		}
		run := func(n int) result {
			c := newCapturer(cfg)
			feed(c, in, n)
			tail, d, open := c.finish()
			defer c.close()
			r := result{tail: tail, dump: dumpText(t, d), open: open}
			if d != nil {
				r.trunc = d.Truncated
			}
			return r
		}
		want := run(1)
		for _, n := range []int{2, 7, 100, 4096, 64 << 10, len(in)} {
			got := run(n)
			if !slices.Equal(got.tail, want.tail) || got.dump != want.dump || got.trunc != want.trunc || got.open != want.open {
				t.Errorf("MaxDump %d, reads of %d bytes: tail %q dump %d bytes truncated %v open %v; reads of 1 byte: tail %q dump %d bytes truncated %v open %v",
					cfg.MaxDump, n, got.tail, len(got.dump), got.trunc, got.open, want.tail, len(want.dump), want.trunc, want.open)
			}
		}
	}
}
