package parse

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// textFrames is how many frames WriteText shows of the crashing goroutine
// and of each bucket.
const textFrames = 12

// WriteText writes a readable summary of c: kind, message, culprit, the
// crashing goroutine and the buckets with their counts.
func WriteText(w io.Writer, c *Crash) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "kind:     %s\n", c.Kind)
	fmt.Fprintf(bw, "message:  %s\n", indent(c.Headline()))
	if c.Signal != nil {
		fmt.Fprintf(bw, "signal:   %s code=%s addr=%s pc=%s\n", c.Signal.Name, c.Signal.Code, c.Signal.Addr, c.Signal.PC)
	}
	if c.Repanicked {
		fmt.Fprintf(bw, "repanicked: %s\n", strings.Join(c.Panics, " → "))
	}
	if c.Culprit != nil {
		fmt.Fprintf(bw, "culprit:  %s (%s:%d)\n", c.Culprit.Function, c.Culprit.File, c.Culprit.Line)
	}
	if c.Origin != nil && c.TopFrame != nil && *c.Origin != *c.TopFrame {
		fmt.Fprintf(bw, "origin:   %s (%s:%d)\n", c.Origin.Function, c.Origin.File, c.Origin.Line)
	}
	fmt.Fprintf(bw, "goroutines: %d\n", c.Goroutines)
	if g := c.Goroutine; g != nil {
		label := "crashing goroutine"
		if !c.Crashing {
			label = "first goroutine"
		}
		fmt.Fprintf(bw, "\n%s %d [%s]:\n", label, g.ID, g.State)
		writeFrames(bw, g.Frames)
		if g.CreatedBy != nil {
			fmt.Fprintf(bw, "  created by %s (%s:%d)\n", g.CreatedBy.Function, g.CreatedBy.File, g.CreatedBy.Line)
		}
	}
	for _, b := range c.Buckets {
		fmt.Fprintf(bw, "\n%d goroutines [%s]:\n", b.Count, b.State)
		writeFrames(bw, b.Frames)
	}
	if c.Truncated {
		fmt.Fprintln(bw, "\n(the dump was truncated)")
	}
	return bw.Flush()
}

func writeFrames(w io.Writer, frames []Frame) {
	for i, f := range frames {
		if i == textFrames {
			fmt.Fprintf(w, "  ... %d more frames\n", len(frames)-i)
			break
		}
		mark := " "
		if f.InApp {
			mark = "*"
		}
		fmt.Fprintf(w, " %s%s\n      %s:%d\n", mark, f.Function, f.File, f.Line)
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n          ") }
