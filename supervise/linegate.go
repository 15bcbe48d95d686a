package supervise

import (
	"bytes"
	"io"
	"sync"
)

// maxPendingLog bounds what LineGate holds back while the child is in the
// middle of a line; older held lines are dropped beyond it.
const maxPendingLog = 64 << 10

// LineGate puts the child's stderr and prodwrap's own log lines onto one
// writer without ever writing a log line inside a line of the child's.
// Child is the writer for the child's bytes (Child.Stderr); Log is the
// writer for prodwrap's logger. A log write while the child's last line is
// open is held until the child ends that line, or until Flush.
type LineGate struct {
	mu      sync.Mutex
	w       io.Writer
	open    bool // the child's last byte was not a newline
	pending []byte
}

// NewLineGate returns a gate writing to w.
func NewLineGate(w io.Writer) *LineGate { return &LineGate{w: w} }

// Child returns the writer for the child's stderr.
func (g *LineGate) Child() io.Writer { return childSide{g} }

// Log returns the writer for prodwrap's own lines. Each Write must be whole
// lines, as log/slog handlers write.
func (g *LineGate) Log() io.Writer { return logSide{g} }

// Flush writes held log lines; when the child left its last line open, a
// newline is written first so that ours start on a line of their own.
func (g *LineGate) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		return nil
	}
	if g.open {
		if _, err := g.w.Write([]byte{'\n'}); err != nil {
			return err
		}
		g.open = false
	}
	return g.writePending()
}

// EndChildLine ends the child's open last line with a newline, if it left
// one open, so that what prodwrap writes next starts a line of its own.
func (g *LineGate) EndChildLine() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return nil
	}
	g.open = false
	if _, err := g.w.Write([]byte{'\n'}); err != nil {
		return err
	}
	return g.writePending()
}

func (g *LineGate) writePending() error {
	p := g.pending
	g.pending = g.pending[:0]
	_, err := g.w.Write(p)
	return err
}

type childSide struct{ g *LineGate }

func (c childSide) Write(p []byte) (int, error) {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if len(g.pending) == 0 || !bytes.Contains(p, []byte{'\n'}) {
		n, err := g.w.Write(p)
		if n > 0 {
			g.open = p[n-1] != '\n'
		}
		return n, err
	}
	// Held log lines go out right after the newline that ends the child's
	// open line.
	i := bytes.IndexByte(p, '\n') + 1
	n, err := g.w.Write(p[:i])
	if err != nil {
		return n, err
	}
	g.open = false
	if err := g.writePending(); err != nil {
		return n, err
	}
	m, err := g.w.Write(p[i:])
	if m > 0 {
		g.open = p[i+m-1] != '\n'
	}
	return n + m, err
}

type logSide struct{ g *LineGate }

func (l logSide) Write(p []byte) (int, error) {
	g := l.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		return g.w.Write(p)
	}
	if len(g.pending)+len(p) > maxPendingLog {
		return len(p), nil // dropped: see maxPendingLog
	}
	g.pending = append(g.pending, p...)
	return len(p), nil
}
