package supervise_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/prodwrap/prodwrap/supervise"
)

func TestLineGateNeverSplitsAChildLine(t *testing.T) {
	var out bytes.Buffer
	g := supervise.NewLineGate(&out)
	child, log := g.Child(), g.Log()
	io.WriteString(child, "child line 1\nchild li")
	io.WriteString(log, "ours 1\n")
	io.WriteString(child, "ne 2\nchild line 3\n")
	io.WriteString(log, "ours 2\n")
	io.WriteString(child, "open")
	io.WriteString(log, "ours 3\n")
	if err := g.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "child line 1\nchild line 2\nours 1\nchild line 3\nours 2\nopen\nours 3\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

func TestLineGateEndChildLine(t *testing.T) {
	var out bytes.Buffer
	g := supervise.NewLineGate(&out)
	io.WriteString(g.Child(), "no newline")
	if err := g.EndChildLine(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(g.Log(), "summary\n")
	if got, want := out.String(), "no newline\nsummary\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	g2 := supervise.NewLineGate(&out)
	out.Reset()
	io.WriteString(g2.Child(), "ends well\n")
	g2.EndChildLine()
	if got := out.String(); got != "ends well\n" {
		t.Errorf("EndChildLine added bytes after a complete line: %q", got)
	}
}
