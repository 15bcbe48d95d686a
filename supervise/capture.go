package supervise

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Capture says what the reader keeps of the child's stderr. The zero value
// keeps the default tail and no dump.
type Capture struct {
	// TailLines is how many lines before the dump are kept. 0 means 100;
	// negative keeps none.
	TailLines int
	// MaxLine caps each kept tail line, in bytes; a longer line is cut and
	// ends in "…". 0 means 4096.
	MaxLine int
	// MaxDump caps the dump, in bytes; beyond it the dump is cut and
	// Dump.Truncated is set. 0 means 64 MiB.
	MaxDump int64
	// MemoryDump is how much of the dump is held in memory; the rest, up to
	// MaxDump, goes to a spill file in SpillDir. 0 means 4 MiB.
	MemoryDump int
	// SpillDir is where a dump larger than MemoryDump spills; "" means
	// os.TempDir(). When the spill file cannot be created, the dump is cut
	// at MemoryDump and marked truncated.
	SpillDir string
	// StartsDump reports whether a line (without its newline, at most
	// MaxLine bytes of it) begins a crash dump. The first line it accepts
	// starts the capture; everything after it, to EOF, is the dump, and
	// later dumps in it are the parser's business. Once the capture is cut
	// at MaxDump, the next accepted line starts a new capture, so a
	// panic-looking log line early in a long run cannot hide the real crash.
	// nil captures no dump, only the tail.
	StartsDump func(line []byte) bool
}

// Defaults of Capture's fields.
const (
	DefaultTailLines  = 100
	DefaultMaxLine    = 4096
	DefaultMaxDump    = 64 << 20
	DefaultMemoryDump = 4 << 20
)

const cutMark = "…"

// capturer splits the stream into lines, keeps the tail ring and the dump.
// It is used by the reader goroutine only, then by Wait after the reader
// stopped.
type capturer struct {
	cfg Capture

	line    []byte // the current line's first MaxLine bytes
	lineLen int64  // the current line's length so far
	open    bool   // the last byte seen was not a newline

	tail  [][]byte // ring of kept lines
	tailN int      // next slot
	full  bool

	dump       *Dump
	dumpActive bool
}

func newCapturer(cfg Capture) *capturer {
	if cfg.TailLines == 0 {
		cfg.TailLines = DefaultTailLines
	}
	if cfg.TailLines < 0 {
		cfg.TailLines = 0
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.MaxDump <= 0 {
		cfg.MaxDump = DefaultMaxDump
	}
	if cfg.MemoryDump <= 0 {
		cfg.MemoryDump = DefaultMemoryDump
	}
	if int64(cfg.MemoryDump) > cfg.MaxDump {
		cfg.MemoryDump = int(cfg.MaxDump)
	}
	return &capturer{cfg: cfg, tail: make([][]byte, cfg.TailLines), line: make([]byte, 0, 256)}
}

// write feeds one chunk of the stream.
func (c *capturer) write(p []byte) {
	if c.dumpActive && !c.dump.Truncated && c.dump.size+int64(len(p)) <= c.dump.max {
		c.writeDump(p)
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		var seg []byte
		if i < 0 {
			seg, p = p, nil
		} else {
			seg, p = p[:i+1], p[i+1:]
		}
		c.addToLine(bytes.TrimSuffix(seg, []byte{'\n'}))
		if c.dumpActive {
			c.dump.write(seg)
		}
		if i < 0 {
			c.open = true
			continue
		}
		c.open = false
		c.endLine()
	}
}

// writeDump is write while a dump is captured that p does not cut: no
// line is looked at (no tail is kept, no header looked for) but the last,
// so the chunk goes to the dump whole — a spill file gets one write per
// read of the pipe, not one per line. (A spill file that fails within the
// chunk cuts the dump there, as it would line by line; a header later in
// the same chunk is then not looked for.)
func (c *capturer) writeDump(p []byte) {
	c.dump.write(p)
	i := bytes.LastIndexByte(p, '\n')
	if i < 0 {
		c.addToLine(p)
		c.open = true
		return
	}
	c.line, c.lineLen = c.line[:0], 0
	c.addToLine(p[i+1:])
	c.open = i+1 < len(p)
}

// addToLine adds body to the current line, up to MaxLine bytes.
func (c *capturer) addToLine(body []byte) {
	if room := c.cfg.MaxLine - len(c.line); room > 0 {
		c.line = append(c.line, body[:min(room, len(body))]...)
	}
	c.lineLen += int64(len(body))
}

// trimPartialRune drops the incomplete UTF-8 character a cut left at the
// end of b: a line cut at MaxLine is cut between two characters.
func trimPartialRune(b []byte) []byte {
	for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k]
			}
			return b
		}
	}
	return b
}

// endLine is called at each newline with the completed line in c.line.
func (c *capturer) endLine() {
	line, cut := c.line, c.lineLen > int64(len(c.line))
	if cut {
		line = trimPartialRune(line)
	}
	if c.cfg.StartsDump != nil && (!c.dumpActive || c.dump.Truncated) && c.cfg.StartsDump(line) {
		c.startDump(line, cut)
	} else if !c.dumpActive {
		c.keepTail(line, cut)
	}
	c.line = c.line[:0]
	c.lineLen = 0
}

func (c *capturer) keepTail(line []byte, cut bool) {
	if len(c.tail) == 0 {
		return
	}
	s := c.tail[c.tailN][:0]
	s = append(s, line...)
	if cut {
		s = append(s, cutMark...)
	}
	c.tail[c.tailN] = s
	c.tailN++
	if c.tailN == len(c.tail) {
		c.tailN = 0
		c.full = true
	}
}

// startDump begins a capture with line, the header. A header longer than
// MaxLine was seen only in part; its whole text is lost to the capture, so
// the capture starts with the kept part and is marked truncated.
func (c *capturer) startDump(line []byte, cut bool) {
	if c.dump != nil {
		c.dump.Close()
	}
	c.dump = &Dump{max: c.cfg.MaxDump, mem: c.cfg.MemoryDump, spillDir: c.cfg.SpillDir}
	c.dumpActive = true
	c.dump.write(line)
	if cut {
		c.dump.write([]byte(cutMark))
		c.dump.Truncated = true
	}
	c.dump.write([]byte{'\n'})
}

// finish returns the tail, oldest first, and the dump.
func (c *capturer) finish() (tail []string, dump *Dump, open bool) {
	if c.open {
		// A last line without its newline still counts: a header cut short
		// by the child's death starts a dump like any other.
		c.endLine()
	}
	n := c.tailN
	if c.full {
		n = len(c.tail)
	}
	tail = make([]string, 0, n)
	if c.full {
		for _, l := range c.tail[c.tailN:] {
			tail = append(tail, string(l))
		}
	}
	for _, l := range c.tail[:c.tailN] {
		tail = append(tail, string(l))
	}
	return tail, c.dump, c.open
}

func (c *capturer) close() {
	if c.dump != nil {
		c.dump.Close()
	}
}

// Dump is a captured crash dump: the first bytes in memory, the rest in a
// spill file. Close removes the spill file.
type Dump struct {
	// Truncated is true when the dump was cut: it exceeded MaxDump, or the
	// spill file could not be written.
	Truncated bool
	// SpillErr is the error that stopped spilling, if any.
	SpillErr error

	max      int64
	mem      int
	spillDir string
	buf      []byte
	spill    *os.File
	size     int64
}

// Size is the number of bytes captured.
func (d *Dump) Size() int64 { return d.size }

// Bytes returns up to n bytes from the start of the dump (the header and
// the crashing goroutine come first).
func (d *Dump) Bytes(n int) []byte {
	if n > len(d.buf) {
		n = len(d.buf)
	}
	return d.buf[:n]
}

// Reader returns a reader over the whole dump. Each call starts at the
// beginning.
func (d *Dump) Reader() io.Reader {
	if d.spill == nil {
		return bytes.NewReader(d.buf)
	}
	return io.MultiReader(bytes.NewReader(d.buf), io.NewSectionReader(d.spill, 0, d.size-int64(len(d.buf))))
}

// Close releases the spill file.
func (d *Dump) Close() error {
	if d.spill == nil {
		return nil
	}
	name := d.spill.Name()
	err := d.spill.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	d.spill = nil
	return err
}

func (d *Dump) write(p []byte) {
	if d.Truncated && d.size >= d.max {
		return
	}
	if room := d.max - d.size; int64(len(p)) > room {
		p = p[:room]
		d.Truncated = true
	}
	if room := d.mem - len(d.buf); room > 0 {
		n := min(room, len(p))
		d.buf = append(d.buf, p[:n]...)
		d.size += int64(n)
		p = p[n:]
	}
	if len(p) == 0 || d.SpillErr != nil {
		if len(p) > 0 {
			d.Truncated = true
		}
		return
	}
	if d.spill == nil {
		f, err := createSpill(d.spillDir)
		if err != nil {
			d.SpillErr = fmt.Errorf("create dump spill file: %w", err)
			d.Truncated = true
			return
		}
		d.spill = f
	}
	n, err := d.spill.Write(p)
	d.size += int64(n)
	if err != nil {
		d.SpillErr = fmt.Errorf("write dump spill file: %w", err)
		d.Truncated = true
	}
}
