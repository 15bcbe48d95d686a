package supervise_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func init() { helpers["trickle-handshake"] = helperTrickleHandshake }

// helperTrickleHandshake writes args[0] lines to stderr, one at a time: after
// each it waits for one byte on stdin, the sign that the line came out the
// other side, before it writes the next. It exits 3 when a sign does not
// come within 10 s.
func helperTrickleHandshake(args []string) int {
	n, _ := strconv.Atoi(args[0])
	acks := make(chan error)
	go func() {
		b := make([]byte, 1)
		for {
			_, err := os.Stdin.Read(b)
			acks <- err
			if err != nil {
				return
			}
		}
	}()
	for i := range n {
		fmt.Fprintf(os.Stderr, "line %d\n", i)
		select {
		case err := <-acks:
			if err != nil {
				fmt.Printf("stdin: %v\n", err)
				return 3
			}
		case <-time.After(10 * time.Second):
			fmt.Printf("line %d held back: no sign within 10 s\n", i)
			return 3
		}
	}
	return 0
}

// ackWriter is a child's Stderr that answers each line with a byte on ack.
type ackWriter struct {
	ack *os.File
	buf bytes.Buffer
}

func (w *ackWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for range bytes.Count(p, []byte{'\n'}) {
		if _, err := w.ack.Write([]byte{1}); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// TestTrickleIsNotHeldBack: a line the child writes reaches Stderr without
// waiting for more output — however the reader batches a fast child's
// writes, a trickle is passed on line by line. The child writes its next
// line only once the previous one came out: a line held back for more
// would stop it (it gives up after a generous 10 s).
func TestTrickleIsNotHeldBack(t *testing.T) {
	const lines = 50
	c := helperChild(t, "trickle-handshake", strconv.Itoa(lines))
	ackR, ackW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer ackR.Close()
	defer ackW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	c.Stdin, c.Stdout = ackR, outW
	w := &ackWriter{ack: ackW}
	c.Stderr = w
	res, err := c.Run()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(outR)
	if res.ExitCode != 0 {
		t.Fatalf("child exited %d: %s", res.ExitCode, out.String())
	}
	var want bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if w.buf.String() != want.String() {
		t.Errorf("stderr passed through as %q, want %q", w.buf.String(), want.String())
	}
}
