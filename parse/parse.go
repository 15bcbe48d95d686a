package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"strings"
)

// ErrNoCrash is returned by Parse when the input holds no Go crash.
var ErrNoCrash = errors.New("parse: no crash found")

// Options tune Parse. The zero value of a cap means its default; use
// DefaultOptions to see them.
type Options struct {
	// MainModule is the module path of the program ("example.com/api").
	// When set, a frame is in_app when its package is main or lies in this
	// module; otherwise file paths decide (see doc.go).
	MainModule string
	// MaxLine is the longest line kept, in bytes; the rest of a longer line
	// is skipped. Default 64 KiB.
	MaxLine int
	// MaxFrames is the number of frames kept per goroutine. Default 256.
	MaxFrames int
	// MaxBuckets is the number of buckets kept; goroutines of further
	// stacks are counted but not kept. Default 512.
	MaxBuckets int
	// MaxIDs is the number of goroutine ids kept per bucket. Default 8.
	MaxIDs int
	// MaxMessage caps the message, in bytes. Default 16 KiB.
	MaxMessage int
	// MaxRaces is the number of race reports kept. Default 16.
	MaxRaces int
	// ExitCode is the exit status of the process that printed the input,
	// when the caller ran it (prodwrap's watcher does); 0 when unknown (a
	// saved log) or when a signal ended the process. The Go runtime ends a
	// process with status 2 after it printed a panic, a fatal error or a
	// SIGQUIT dump (runtime/panic.go fatalpanic and fatalthrow: exit(2);
	// runtime/signal_unix.go sighandler: exit(2)), so status 2 confirms
	// goroutine stacks whose header was lost (doc.go, "Headers lost or
	// cut"); any other status leaves them a program's own logged stacks.
	ExitCode int
	// ExitSignal is the signal that ended that process, 0 for none or
	// unknown. SIGABRT (6) is how the runtime ends it under
	// GOTRACEBACK=crash (runtime/signal_unix.go crash → dieFromSignal), and
	// confirms stacks whose header was lost as status 2 does.
	ExitSignal int

	_ struct{}
}

// DefaultOptions returns the default caps.
func DefaultOptions() Options {
	return Options{
		MaxLine:    64 << 10,
		MaxFrames:  256,
		MaxBuckets: 512,
		MaxIDs:     8,
		MaxMessage: 16 << 10,
		MaxRaces:   16,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxLine <= 0 {
		o.MaxLine = d.MaxLine
	}
	if o.MaxFrames <= 0 {
		o.MaxFrames = d.MaxFrames
	}
	if o.MaxBuckets <= 0 {
		o.MaxBuckets = d.MaxBuckets
	}
	if o.MaxIDs <= 0 {
		o.MaxIDs = d.MaxIDs
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = d.MaxMessage
	}
	if o.MaxRaces <= 0 {
		o.MaxRaces = d.MaxRaces
	}
	return o
}

// maxNoise is how many lines of other text may follow a header that no
// goroutine, signal or race block confirmed before the header is taken for
// a log line ("exit status 2" and "FAIL pkg" are such noise, a running
// program's log is not).
const maxNoise = 2

// maxContLines bounds the unindented lines taken as the rest of a panic
// value.
const maxContLines = 64

// maxRuntimeLines bounds the "runtime: " lines kept before a fatal error.
const maxRuntimeLines = 16

// maxPanics bounds the re-panic chain kept; maxAccesses the blocks kept of
// one race report.
const (
	maxPanics   = 16
	maxAccesses = 16
)

// Parse reads a child's stderr (log lines, then a dump) and returns the
// crash that ended the process: the last dump in the input. It returns
// ErrNoCrash when there is none, and the reader's error, wrapped, when
// reading fails (io.EOF is the normal end).
func Parse(r io.Reader, opts Options) (*Crash, error) {
	p := newParser(opts.withDefaults())
	br := bufio.NewReaderSize(r, 64<<10)
	var pos int64 // offset in the input of the next line
	for {
		// The whole lines already in the buffer are taken at once, as
		// ReadSlice would give them one by one, then ReadSlice fills it.
		buf, _ := br.Peek(br.Buffered())
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			p.lineStart = pos
			pos += int64(i + 1)
			if i <= p.opts.MaxLine {
				p.line(buf[:i]) // what feed does with it
			} else {
				p.feed(buf[:i], false)
			}
			buf = buf[i+1:]
		}
		_, _ = br.Discard(br.Buffered() - len(buf))
		line, err := br.ReadSlice('\n')
		p.lineStart = pos
		pos += int64(len(line))
		switch {
		case err == nil:
			p.feed(line[:len(line)-1], false)
		case errors.Is(err, bufio.ErrBufferFull):
			p.feed(line, true)
			// Skip what is left of the line beyond the buffer.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				pos += int64(len(line))
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("parse: read: %w", err)
			}
			p.endLongLine()
			if errors.Is(err, io.EOF) {
				return p.finish()
			}
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				p.truncatedLast = true
				p.feed(line, false)
			}
			return p.finish()
		default:
			return nil, fmt.Errorf("parse: read: %w", err)
		}
	}
}

type parser struct {
	opts Options
	seed maphash.Seed

	long []byte // a line longer than the reader's buffer, kept to MaxLine

	// lineStart is the offset in the input of the line being read;
	// runtimeStart that of the first of runtimeL; sepStart that of the
	// previous line when it was a race report's "====" separator, else -1.
	lineStart, runtimeStart, sepStart int64

	truncatedLast bool
	atEOF         bool // the input is over: what is still open ended the output

	// createdFn and createdFile are the last "created by" function and
	// file read (see reuse).
	createdFn, createdFile string

	// A line held as the first pieces of a wrapped line (see wrap.go):
	// wrapBuf holds them, wrapLast is the length of the last piece,
	// wrapWidth the width learnt (0 until one is).
	wrapHeld                     bool
	wrapBuf                      []byte
	wrapLast, wrapWidth          int
	wrapHeldN                    int  // the whole length of the last piece held, prefix included
	wrapWhole                    bool // wrapWidth is of whole lines, prefix included: the later pieces are bare
	wrapByLen, wrapByWhole       bool // why the first held piece was held: its width without, or with, its prefix
	wrapLineStart, wrapTextStart int64

	// learned is the shape of a log prefix learnt from a header found
	// after it in the middle of a line (see learnPrefix), nil when none.
	learned *prefixShape

	// rtStack is the offset of a "runtime stack:" section read with no
	// dump open (its header lost), -1 when none; rtGrowing is true when
	// that section shows the runtime growing a stack.
	rtStack   int64
	rtGrowing bool

	spare    *dumpState // a dump that did not count, for newDump to reuse
	dumps    int        // how many newDump made: their seq
	cur      *dumpState // the dump being read
	best     *dumpState // the last dump that counts, once cur ends
	runtimeL []string   // "runtime: " lines waiting for their fatal error
	races    []Race
	raceCut  bool
}

func newParser(o Options) *parser {
	return &parser{opts: o, seed: maphash.MakeSeed(), sepStart: -1, rtStack: -1}
}

// feed takes one line without its newline. partial is true when the line
// continues beyond the reader's buffer.
func (p *parser) feed(line []byte, partial bool) {
	if partial {
		p.long = append(p.long[:0], line[:min(len(line), p.opts.MaxLine)]...)
		return
	}
	if len(line) > p.opts.MaxLine {
		line = line[:p.opts.MaxLine]
		p.markTruncated()
	}
	p.line(line)
}

func (p *parser) endLongLine() {
	p.markTruncated()
	p.line(p.long)
	p.long = p.long[:0]
}

func (p *parser) markTruncated() {
	if p.cur != nil {
		p.cur.crash.Truncated = true
	}
}

// line handles one line of input.
func (p *parser) line(raw []byte) {
	l := raw
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	n := len(l)
	if len(l) > 0 && l[0] != '\t' { // a tab starts no prefix: a frame's file line
		l = stripPrefix(l)
	}
	if p.learned != nil {
		if rest := p.learned.strip(l); len(rest) < len(l) {
			l = stripPrefix(rest) // a known prefix may follow the learnt one
		}
	}
	if p.wrapIgnores(l, n) {
		p.text(l, p.lineStart+int64(n-len(l))) // what wrapLine would do
		return
	}
	p.wrapLine(l, n, p.lineStart+int64(n-len(l)))
}

// text handles what is left of a line without its prefixes; textStart is
// where it begins in the input.
func (p *parser) text(l []byte, textStart int64) {
	if len(l) > 8 && l[0] == '^' {
		l = stripEcho(l)
	}
	prevSep := p.sepStart
	p.sepStart = -1
	if len(l) > 0 && l[0] == '=' && bytes.HasPrefix(l, prefixRaceEnd) {
		p.sepStart = p.lineStart
	}
	d := p.cur

	if d != nil && d.race != nil {
		p.raceLine(l)
		return
	}
	var c0 byte // the first byte picks the few headers it can start
	if len(l) > 0 {
		c0 = l[0]
	}
	switch {
	case c0 == 'p' && bytes.HasPrefix(l, prefixPanic):
		p.startDump(KindPanic, l[len(prefixPanic):], false, p.lineStart)
		return
	case c0 == 'f' && bytes.HasPrefix(l, prefixFatal):
		p.startDump(KindFatalError, l[len(prefixFatal):], false, p.lineStart)
		return
	case c0 == 'W' && bytes.HasPrefix(l, prefixRace):
		start := p.lineStart
		if prevSep >= 0 {
			start = prevSep
		}
		p.startRace(start)
		return
	case c0 == 'r' && bytes.HasPrefix(l, prefixRuntime):
		if d != nil && d.phase == phaseHeader {
			return // "runtime: sp=..." detail inside a dump's header
		}
		if len(p.runtimeL) == 0 {
			p.runtimeStart = p.lineStart
		}
		if len(p.runtimeL) < maxRuntimeLines {
			p.runtimeL = append(p.runtimeL, string(l))
		}
		return
	}
	if c0 == 'S' {
		if name, ok := signalHeader(l); ok && isSignalReport(l) {
			p.signalReport(name, l)
			return
		}
	}
	if c0 == 'E' {
		if code, info, ok := exceptionHeader(l); ok {
			p.exception(code, info)
			return
		}
	}
	if len(p.runtimeL) > 0 {
		p.inferFromRuntimeLines()
		d = p.cur
	}
	p.runtimeL = p.runtimeL[:0]

	if d == nil || !d.confirmed && (d.midLine || d.weak) {
		// (Not after a header of its own: "error: ..." may be the second
		// line of its value.)
		if kind, msg, ok := cutHeader(l); ok {
			p.startDump(kind, msg, false, p.lineStart).weak = true
			return
		}
	}
	if d == nil {
		if id, inner, ok := goroutineHeader(l); ok {
			// A goroutine with no header before it: the header was lost,
			// or the stack was logged (debug.Stack); see headless.
			d = newDump(p, KindStackOverflow)
			d.crash.Start = p.lineStart
			if p.rtStack >= 0 {
				d.crash.Start = p.rtStack
			}
			d.headless, d.weak, d.growing, d.rtBefore = true, true, p.rtGrowing, p.rtStack >= 0
			p.rtStack, p.rtGrowing = -1, false
			p.cur = d
			d.startGoroutine(p, id, inner)
			d.confirmed = false
			return
		}
		p.headlessRuntimeStack(l)
		p.midLineHeader(l, textStart)
		return
	}
	if c0 == 'g' {
		if id, inner, ok := goroutineHeader(l); ok {
			d.startGoroutine(p, id, inner)
			return
		}
	}
	if isBlank(l) {
		if len(l) > 0 && l[0] == '\t' && d.phase == phaseHeader && !d.msgDone && len(d.panics) > 0 &&
			(d.crash.Kind == KindPanic || d.crash.Kind == KindTimeout) {
			// An empty line inside a multi-line value: printindented
			// (runtime/error.go, Go 1.22+) still prints its tab.
			d.crash.Message = capString(d.crash.Message+"\n", p.opts.MaxMessage)
			d.panics[len(d.panics)-1] = d.crash.Message
			return
		}
		d.blank(p)
		return
	}
	if d.body(p, l) {
		d.trailing = 0
	} else {
		d.noise++
		d.trailing++
		switch {
		case d.pending && (d.phase != phaseGoroutine || d.noise > maxNoise):
			p.endCur() // its stacks are over: they decide whether it counts
		case d.noise > maxNoise && !d.confirmed || d.headless && d.phase != phaseGoroutine:
			p.dropCur()
		}
		if !d.confirmed {
			p.learnedHeader(l, textStart)
			return
		}
		p.midLineHeader(l, textStart)
	}
}

// isSignalReport tells the runtime's "SIGSEGV: segmentation violation"
// from a log line that happens to start with "SIGTERM: ".
func isSignalReport(l []byte) bool {
	rest := l[bytes.IndexByte(l, ':')+2:]
	for _, c := range rest {
		if !(('a' <= c && c <= 'z') || c == ' ' || c == '-') {
			return false
		}
	}
	return len(rest) > 0
}

// midLineHeader looks for a dump that starts in the middle of a line, after
// a log line without its newline. Such a header must be confirmed by what
// follows. start is where l begins in the input.
//
// When the text before the header is a prefix of the kind log pipelines
// add (see learnPrefix), the prefix is learnt and stripped from the lines
// that follow, and the line is read again without it.
func (p *parser) midLineHeader(l []byte, start int64) {
	if p.learnedHeader(l, start) {
		return
	}
	for _, h := range [][]byte{prefixPanic, prefixFatal} {
		if i := bytes.Index(l, h); i > 0 {
			kind := KindPanic
			if h[0] == 'f' {
				kind = KindFatalError
			}
			p.startDump(kind, l[i+len(h):], true, start+int64(i))
			return
		}
	}
}

// learnedHeader reads l again without its prefix when it is a header after
// a log prefix (learnPrefix), which is learnt. A dump it starts counts only
// when confirmed.
func (p *parser) learnedHeader(l []byte, start int64) bool {
	lp, n := learnPrefix(l)
	if n == 0 {
		return false
	}
	before := p.dumps
	if p.learned == nil || !p.learned.equal(lp) {
		p.learned = lp
	}
	rest := stripPrefix(l[n:])
	p.text(rest, start+int64(len(l)-len(rest)))
	if d := p.cur; d != nil && d.seq > before {
		d.weak = true
		d.crash.Start = p.lineStart
	}
	return true
}

// headlessRuntimeStack follows a "runtime stack:" section (the system
// stack of a throw, runtime/panic.go fatalthrow → traceback of g0) read
// while no dump is open.
func (p *parser) headlessRuntimeStack(l []byte) {
	switch {
	case bytes.Equal(l, prefixRuntimeStk):
		p.rtStack, p.rtGrowing = p.lineStart, false
	case p.rtStack < 0, len(l) == 0:
	default:
		if fn, _, ok := funcLine(l); ok {
			if isGrowing(fn) {
				p.rtGrowing = true
			}
			return
		}
		if _, _, _, ok := fileLine(l); !ok {
			p.rtStack, p.rtGrowing = -1, false
		}
	}
}

func isGrowing(fn []byte) bool {
	switch string(fn) {
	case "runtime.morestack", "runtime.newstack", "runtime.morestack_noctxt", "__morestack":
		return true
	}
	return false
}

// stripEcho removes a terminal's echo of the key that sent the signal
// ("^\SIGQUIT: quit" after Ctrl-\, "^CSIGINT"), when a header follows.
func stripEcho(l []byte) []byte {
	if len(l) > 8 && l[0] == '^' && '@' <= l[1] && l[1] <= '_' && StartsHeader(l[2:]) {
		return l[2:]
	}
	return l
}

// cutHeader matches a header whose first bytes a log pipeline cut off
// ("error: unexpected signal during runtime execution", "nic: boom"): a
// line that begins with the end, five bytes or more, of "fatal error: " or
// "panic: ". Such a header counts only when confirmed.
func cutHeader(l []byte) (Kind, []byte, bool) {
	// The cut header ends at the first ": ", within len("fatal error: ").
	i := bytes.Index(l[:min(len(l), len(prefixFatal))], []byte(": "))
	if i < 0 || i+2 < 5 {
		return "", nil, false
	}
	cut := l[:i+2]
	switch {
	case len(cut) < len(prefixFatal) && bytes.HasSuffix(prefixFatal, cut):
		return KindFatalError, l[i+2:], true
	case len(cut) < len(prefixPanic) && bytes.HasSuffix(prefixPanic, cut):
		return KindPanic, l[i+2:], true
	}
	return "", nil, false
}

// inferFromRuntimeLines starts a dump from the "runtime: " lines the
// runtime prints just before it throws, when the "fatal error: " line that
// follows them was lost. Such a dump counts only when confirmed.
//
//	Signature: runtime: goroutine stack exceeds 1000000000-byte limit (runtime/stack.go newstack, Go 1.2+, then throw("stack overflow"))
//	Signature: runtime: out of memory: cannot allocate 8192-byte block (… in use) (runtime/mheap.go, Go 1.11+; malloc.go before, then throw("out of memory"))
func (p *parser) inferFromRuntimeLines() {
	if p.cur != nil && p.cur.phase == phaseHeader {
		return
	}
	for _, l := range p.runtimeL {
		var msg string // what throw printed after them
		switch {
		case strings.HasPrefix(l, "runtime: goroutine stack exceeds "):
			msg = "stack overflow"
		case strings.HasPrefix(l, "runtime: out of memory: cannot allocate "):
			msg = "out of memory"
		default:
			continue
		}
		d := p.startDump(KindFatalError, []byte(msg), false, 0)
		d.weak = true
		d.crash.Inferred = `header lost: the "runtime: " line before it`
		return
	}
}

// startDump begins a new dump whose header line starts at offset start; the
// one being read ends. The "runtime: " lines just before the header belong
// to the dump, which then starts at the first of them.
func (p *parser) startDump(kind Kind, msg []byte, midLine bool, start int64) *dumpState {
	pre := p.runtimeL
	if len(pre) > 0 && !midLine {
		start = p.runtimeStart
	}
	p.endCur()
	d := newDump(p, kind)
	d.crash.Start = start
	d.midLine = midLine
	d.runtimeLines = append(d.runtimeLines, pre...)
	p.runtimeL = p.runtimeL[:0]
	d.setHeader(p, msg)
	p.cur = d
	return d
}

func (p *parser) signalReport(name, l []byte) {
	d := p.cur
	if string(name) != "SIGQUIT" && d != nil && d.race == nil && d.confirmed && (d.crash.Kind == KindPanic || d.crash.Kind == KindFatalError ||
		d.crash.Kind == KindTimeout || d.crash.Kind == KindStackOverflow || d.crash.Kind == KindOOM || d.crash.Kind == KindDeadlock) {
		// GOTRACEBACK=crash: the runtime aborts after printing the dump.
		d.finishGoroutine(p)
		if d.crash.Signal == nil {
			d.crash.Signal = &Signal{Name: string(name)}
		}
		d.phase = phaseHeader
		d.inSignalTail = true
		return
	}
	p.endCur()
	kind := KindSignal
	if string(name) == "SIGQUIT" {
		kind = KindSigquit
	}
	d = newDump(p, kind)
	d.crash.Start = p.lineStart
	d.crash.Message = string(l[len(name)+2:])
	d.crash.Signal = &Signal{Name: string(name)}
	d.confirmed = false
	p.cur = d
}

// exception starts the report the runtime prints for a Windows exception
// that no goroutine could turn into a panic (in external code, a cgo or
// syscall callee), runtime/signal_windows.go winthrow (Go 1.11+; before,
// signal_windows_amd64.c printed the same lines):
//
//	Exception 0xc0000005 0x8 0x0 0x0
//	PC=0x0
//	signal arrived during external code execution
//
//	(the faulting goroutine's frames, with no goroutine header)
//	goroutine 2 [...]: (the others, tracebackothers)
//	rax     0x0 (registers, dumpregs)
//
// The first word is the exception code, then ExceptionInformation[0] (for
// an access violation: 0 read, 1 write, 8 execute) and [1] (the address),
// then the PC.
func (p *parser) exception(code []byte, info [3][]byte) {
	p.endCur()
	d := newDump(p, KindSignal)
	d.crash.Start = p.lineStart
	name, desc := windowsException(string(code))
	d.crash.Message = desc
	d.crash.Signal = &Signal{Name: name, Code: string(info[0]), Addr: string(info[1]), PC: string(info[2])}
	d.implicitG = true
	p.cur = d
}

// startRace begins a race report whose first line starts at offset start.
// Consecutive reports make one dump, which starts at the first.
func (p *parser) startRace(start int64) {
	if p.cur == nil || p.cur.crash.Kind != KindRace {
		p.endCur()
		p.cur = newDump(p, KindRace)
		p.cur.crash.Start = start
		p.cur.crash.Message = "data race"
	}
	p.cur.race = &Race{}
	p.cur.raceAccess = nil
}

func (p *parser) raceLine(l []byte) {
	d := p.cur
	t, _ := trimIndent(l)
	switch {
	case bytes.HasPrefix(l, prefixRaceEnd):
		if len(p.races) < p.opts.MaxRaces {
			p.races = append(p.races, *d.race)
		} else {
			p.raceCut = true
		}
		if d.crash.Goroutine == nil {
			if g, msg := raceGoroutine(*d.race); g != nil {
				d.crash.Goroutine = g
				d.crash.Message = msg
			}
		}
		d.crash.Goroutines = max(d.crash.Goroutines, 0)
		d.race = nil
		d.confirmed = true
	case len(t) == 0:
		d.raceAccess = nil
	default:
		if op, addr, gid, ok := raceAccess(t); ok {
			if len(d.race.Accesses) >= maxAccesses {
				d.raceAccess = nil
				d.crash.Truncated = true
				return
			}
			d.race.Accesses = append(d.race.Accesses, RaceAccess{Op: op, Addr: addr, Goroutine: gid})
			d.raceAccess = &d.race.Accesses[len(d.race.Accesses)-1]
			return
		}
		a := d.raceAccess
		if a == nil {
			return
		}
		if fn, args, ok := funcLine(t); ok && len(a.Frames) < p.opts.MaxFrames {
			a.Frames = append(a.Frames, Frame{Function: string(fn), Package: packageOf(fn), Args: string(args)})
			return
		}
		if file, n, off, ok := fileLine(l); ok && len(a.Frames) > 0 {
			f := &a.Frames[len(a.Frames)-1]
			if f.File == "" {
				f.File, f.Line, f.Offset = string(file), n, string(off)
			}
		}
	}
}

// raceGoroutine is the goroutine a race report is about: the one of its
// first access (not a "created at" block), with created_by from the
// report's "Goroutine N (running) created at:" block for it, whose first
// frame is the function that ran the go statement. It returns the
// message, "data race: write at 0x… by goroutine 7" ("write by goroutine 7"
// before Go 1.6, whose reports print no address).
func raceGoroutine(r Race) (*Goroutine, string) {
	for _, a := range r.Accesses {
		if a.Op == "created" {
			continue
		}
		g := &Goroutine{ID: a.Goroutine, State: "running", Frames: a.Frames}
		for _, c := range r.Accesses {
			if c.Op == "created" && c.Goroutine == a.Goroutine && len(c.Frames) > 0 {
				f := c.Frames[0]
				g.CreatedBy = &CreatedBy{Function: f.Function, File: f.File, Line: f.Line}
				break
			}
		}
		if a.Addr == "" {
			return g, fmt.Sprintf("data race: %s by goroutine %d", a.Op, a.Goroutine)
		}
		return g, fmt.Sprintf("data race: %s at %s by goroutine %d", a.Op, a.Addr, a.Goroutine)
	}
	return nil, ""
}

// endCur ends the dump being read: it becomes the result if it counts.
func (p *parser) endCur() {
	d := p.cur
	if d == nil {
		return
	}
	d.finishGoroutine(p)
	p.cur = nil
	if d.pending && !d.inferAtEnd(p) {
		p.recycle(d)
		return
	}
	if d.confirmed || (!d.midLine && !d.weak && d.noise <= maxNoise && !needsConfirmation(d.crash.Kind)) {
		p.best = d
	} else {
		p.recycle(d)
	}
}

// needsConfirmation tells the kinds whose header alone is a log line: the
// runtime follows "panic: " with the panicking goroutine (runtime/panic.go
// fatalpanic → dopanic_m prints it at every GOTRACEBACK level but none), so
// a bare "panic: " line and an exit status of 1 are a program's own
// message; it follows a signal report's "SIGSEGV: segmentation violation"
// with "PC=" at once (runtime/signal_unix.go fatalsignal), so
// "SIGTERM: shutting down" alone is a log line. A fatal error may have no
// goroutine ("no goroutines (main called runtime.Goexit) - deadlock!").
func needsConfirmation(k Kind) bool {
	return k == KindPanic || k == KindTimeout || k == KindSignal || k == KindSigquit
}

// dropCur forgets the dump being read: it was a log line.
func (p *parser) dropCur() {
	p.recycle(p.cur)
	p.cur = nil
}

// recycle keeps a dump that did not count for the next newDump: log text
// starts and drops many ("error: ..." may be a cut header).
func (p *parser) recycle(d *dumpState) {
	if d != nil && d != p.best {
		p.spare = d
	}
}

func (p *parser) finish() (*Crash, error) {
	p.flushWrap()
	p.atEOF = true
	if p.cur != nil {
		if p.truncatedLast {
			p.cur.crash.Truncated = true
		}
		if p.cur.race != nil {
			// A race report cut short still counts.
			p.cur.race.Accesses = append([]RaceAccess(nil), p.cur.race.Accesses...)
			p.raceLine(prefixRaceEnd)
		}
		p.endCur()
	}
	if p.best == nil {
		return nil, ErrNoCrash
	}
	c := p.best.result(p)
	return c, nil
}

// Phases of a dump.
const (
	phaseHeader    = iota // after the header: message, [signal], PC=
	phaseGoroutine        // inside a goroutine's stack
	phaseBetween          // between goroutines
	phaseRuntime          // inside a "runtime stack:" section
)

// dumpState is one dump being read.
type dumpState struct {
	crash        Crash
	phase        int
	confirmed    bool
	midLine      bool
	seq          int  // its number among the dumps newDump made
	weak         bool // an inferred or cut header: counts only when confirmed
	headless     bool // no header: kept only when the first stack says what happened
	growing      bool // a runtime stack before the headless goroutine grew a stack
	rtBefore     bool // a "runtime stack:" section came before the headless goroutine
	pending      bool // headless, and its first stack did not say what happened: the others decide (inferAtEnd)
	notBlocked   bool // a goroutine of a pending dump is not blocked for good (blockedForever)
	logged       bool // pending, and a program's own stacks: dropped when they end
	trailing     int  // lines of other text since the last line of the dump
	implicitG    bool // the crashing goroutine's frames come without a header (Windows)
	contLines    int  // unindented lines of a multi-line panic value (Go ≤ 1.21)
	noise        int
	msgDone      bool // the header's blank line was seen
	inSignalTail bool
	runtimeLines []string
	panics       []string

	haveCrashing bool
	g            goroutineBuild

	buckets     map[uint64]*bucketBuild
	bucketOrder []*bucketBuild
	bucketCut   int

	race       *Race
	raceAccess *RaceAccess

	goroot string
}

type goroutineBuild struct {
	active    bool
	id        int
	state     string
	minutes   int
	locked    bool
	raw       []rawFrame // frames as read, their bytes in arena
	arena     []byte
	elided    bool
	createdBy *CreatedBy
	inCreated bool
	hash      stackHash
}

// stackHash is the hash of a goroutine's stack that keys its bucket: the
// bytes of its state, then of each frame's function, file and line (three
// bytes). They are kept and hashed in one maphash call when the goroutine
// ends, which gives the sum a maphash.Hash would give for the same writes
// at a fraction of the cost of a Write call per frame.
type stackHash struct {
	seed maphash.Seed
	buf  []byte
}

func (h *stackHash) SetSeed(seed maphash.Seed) { h.seed, h.buf = seed, h.buf[:0] }

func (h *stackHash) Reset() { h.buf = h.buf[:0] }

func (h *stackHash) WriteString(s string) { h.buf = append(h.buf, s...) }

func (h *stackHash) Write(b []byte) { h.buf = append(h.buf, b...) }

// writePos adds a frame's file and line.
func (h *stackHash) writePos(file []byte, n int) {
	h.buf = append(append(h.buf, file...), byte(n), byte(n>>8), byte(n>>16))
}

func (h *stackHash) Sum64() uint64 {
	if h.seed == (maphash.Seed{}) {
		h.seed = maphash.MakeSeed() // as a zero maphash.Hash does
	}
	return maphash.Bytes(h.seed, h.buf)
}

// rawFrame is a frame before it becomes a Frame: most goroutines of a big
// dump only add to a bucket's count and never need their frames as strings.
type rawFrame struct {
	fn, args, file, off span
	line                int
	hasFile             bool
}

type span struct{ start, end int }

func (g *goroutineBuild) put(b []byte) span {
	start := len(g.arena)
	g.arena = append(g.arena, b...)
	return span{start, len(g.arena)}
}

// reuse returns *last when b holds its bytes, else string(b), which it
// keeps in *last: most goroutines of a dump were created by the same
// function, and one string serves them all.
func reuse(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

func (g *goroutineBuild) str(s span) string { return string(g.arena[s.start:s.end]) }

// frames turns the raw frames into Frames.
func (g *goroutineBuild) frames() []Frame {
	out := make([]Frame, len(g.raw))
	for i, r := range g.raw {
		fn := g.arena[r.fn.start:r.fn.end]
		out[i] = Frame{Function: string(fn), Package: packageOf(fn), Args: g.str(r.args), File: g.str(r.file), Line: r.line, Offset: g.str(r.off)}
	}
	return out
}

type bucketBuild struct {
	b Bucket
}

func newDump(p *parser, kind Kind) *dumpState {
	d := p.spare
	if d != nil {
		p.spare = nil
		raw, arena := d.g.raw[:0], d.g.arena[:0]
		*d = dumpState{}
		d.g.raw, d.g.arena = raw, arena
	} else {
		d = &dumpState{} // buckets is made with the first one: most headless candidates never need it
	}
	p.dumps++
	d.seq = p.dumps
	d.crash.Kind = kind
	d.g.hash.SetSeed(p.seed)
	return d
}

// setHeader takes the text after "panic: " or "fatal error: ".
func (d *dumpState) setHeader(p *parser, msg []byte) {
	s := string(msg)
	if strings.HasSuffix(s, string(suffixRepanicked)) {
		s = strings.TrimSuffix(s, string(suffixRepanicked))
		d.crash.Repanicked = true
	} else if strings.HasSuffix(s, string(suffixRecovered)) {
		s = strings.TrimSuffix(s, string(suffixRecovered))
		d.crash.Repanicked = true
	}
	d.panics = append(d.panics, s)
	d.crash.Message = capString(s, p.opts.MaxMessage)
	if d.crash.Kind == KindPanic && strings.HasPrefix(s, "test timed out after ") {
		d.crash.Kind = KindTimeout
	}
	if d.crash.Kind == KindFatalError {
		d.crash.Kind = fatalKind(s)
	}
}

func fatalKind(msg string) Kind {
	switch {
	case strings.HasPrefix(msg, "all goroutines are asleep - deadlock!"),
		strings.HasPrefix(msg, "no goroutines (main called runtime.Goexit) - deadlock!"):
		return KindDeadlock
	case strings.HasPrefix(msg, "stack overflow"):
		return KindStackOverflow
	case msg == "out of memory", msg == "runtime: out of memory", strings.HasPrefix(msg, "out of memory"):
		return KindOOM
	}
	return KindFatalError
}

func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// body handles a line of a dump that is not a header, a goroutine header
// or blank. It reports whether the line belonged to the dump.
func (d *dumpState) body(p *parser, l []byte) bool {
	switch d.phase {
	case phaseHeader:
		return d.headerLine(p, l)
	case phaseRuntime:
		return true
	case phaseGoroutine:
		return d.frameLine(p, l)
	case phaseBetween:
		if bytes.HasPrefix(l, prefixRuntimeStk) {
			d.phase = phaseRuntime
			return true
		}
		if isRegisterLine(l) || bytes.HasPrefix(l, prefixPC) {
			return true
		}
	}
	return false
}

func (d *dumpState) headerLine(p *parser, l []byte) bool {
	t := bytes.TrimLeft(l, " \t")
	switch {
	case bytes.HasPrefix(l, prefixSignal):
		d.parseSignalLine(l)
		d.confirmed = true
		return true
	case bytes.HasPrefix(l, prefixPC):
		d.parsePCLine(l)
		d.confirmed = true
		return true
	case bytes.HasPrefix(l, prefixCgoSignal):
		// "signal arrived during cgo execution" (runtime/signal_unix.go
		// sighandler), "signal arrived during external code execution"
		// (runtime/signal_windows.go winthrow; "cgo" before Go 1.10).
		d.crash.Message += " (" + string(l) + ")"
		return true
	case bytes.HasPrefix(l, prefixRuntimeStk):
		d.phase = phaseRuntime
		return true
	case isRegisterLine(l):
		return true
	case d.implicitG && d.msgDone:
		if _, _, ok := funcLine(l); ok {
			d.startGoroutine(p, 0, []byte("running"))
			return d.frameLine(p, l)
		}
		return false
	case d.msgDone || d.inSignalTail:
		return false
	case len(l) > 0 && (l[0] == '\t' || l[0] == ' ') && bytes.HasPrefix(t, prefixPanic):
		// The chain of a re-panic: "panic: A [recovered]\n\tpanic: B".
		s := string(t[len(prefixPanic):])
		if strings.HasSuffix(s, string(suffixRecovered)) {
			s = strings.TrimSuffix(s, string(suffixRecovered))
		}
		if strings.HasSuffix(s, string(suffixRepanicked)) {
			s = strings.TrimSuffix(s, string(suffixRepanicked))
		}
		if len(d.panics) < maxPanics {
			d.panics = append(d.panics, s)
		} else {
			d.crash.Truncated = true
		}
		d.crash.Repanicked = true
		d.crash.Message = capString(s, p.opts.MaxMessage)
		return true
	case len(l) > 0 && (l[0] == '\t' || l[0] == ' ') && (d.crash.Kind == KindPanic || d.crash.Kind == KindTimeout):
		// A multi-line panic message: Go 1.22+ indents continuation lines.
		cont := l[1:]
		switch {
		case d.contLines > 0:
			cont = l // Go ≤ 1.21 (see below): the value's own indentation
		case l[0] == ' ':
			cont = t // a tab a log system turned into spaces
		}
		if len(d.crash.Message) < p.opts.MaxMessage {
			d.crash.Message = capString(d.crash.Message+"\n"+string(cont), p.opts.MaxMessage)
			d.panics[len(d.panics)-1] = d.crash.Message
		}
		return true
	case (d.crash.Kind == KindPanic || d.crash.Kind == KindTimeout) && !d.midLine && d.contLines < maxContLines:
		// Before Go 1.22 (runtime/error.go printpanicval had no
		// printindented) the lines of a multi-line value follow unindented,
		// up to the blank line before the goroutine. A log line after a
		// bare "panic: " line joins it too, but that dump counts only if a
		// goroutine confirms it.
		d.contLines++
		if len(d.crash.Message) < p.opts.MaxMessage {
			d.crash.Message = capString(d.crash.Message+"\n"+string(l), p.opts.MaxMessage)
			d.panics[len(d.panics)-1] = d.crash.Message
		}
		return true
	}
	return false
}

// isRegisterLine matches the register dump after a signal report:
//
//	Regexp: ^(r[a-z0-9]+|[a-z]{2,3}|x[0-9]+|pc|sp|lr|fault)\s+0x[0-9a-f]+$
func isRegisterLine(l []byte) bool {
	i := bytes.IndexAny(l, " \t")
	if i <= 0 || i > 7 {
		return false
	}
	for _, c := range l[:i] {
		if !(('a' <= c && c <= 'z') || isDigit(c)) {
			return false
		}
	}
	v := bytes.TrimLeft(l[i:], " \t")
	return bytes.HasPrefix(v, []byte("0x")) && !bytes.ContainsAny(v, " \t")
}

// parseSignalLine reads the line after a runtime panic's header:
//
//	Regexp: ^\[signal (SIG[A-Z]+|0x[0-9a-f]+)(: [^c]*)? code=(\S+) addr=(\S+) pc=(\S+)\]$
//	Signature: [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]
//	Signature: [signal 0xb code=0x1 addr=0x0 pc=0x4a1b2c] (Go ≤ 1.6)
func (d *dumpState) parseSignalLine(l []byte) {
	s := strings.TrimSuffix(strings.TrimPrefix(string(l), "[signal "), "]")
	sig := &Signal{}
	name := s
	if i := strings.IndexAny(s, ": "); i >= 0 {
		name = s[:i]
	}
	sig.Name = signalName(name)
	sig.Code = field(s, "code=")
	sig.Addr = field(s, "addr=")
	sig.PC = field(s, "pc=")
	d.crash.Signal = sig
}

// parsePCLine reads the line after a runtime signal report:
//
//	Signature: PC=0x46b2c1 m=0 sigcode=1 addr=0x0
func (d *dumpState) parsePCLine(l []byte) {
	s := string(l)
	if d.crash.Signal == nil {
		d.crash.Signal = &Signal{}
	}
	d.crash.Signal.PC = field(s, "PC=")
	if c := field(s, "sigcode="); c != "" {
		d.crash.Signal.Code = c
	}
	if a := field(s, "addr="); a != "" {
		d.crash.Signal.Addr = a
	}
}

func field(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v := s[i+len(key):]
	if j := strings.IndexAny(v, " ]"); j >= 0 {
		v = v[:j]
	}
	return v
}

// signalName turns the numeric signals of old Go versions into names.
func signalName(s string) string {
	names := map[string]string{
		"0x1": "SIGHUP", "0x2": "SIGINT", "0x3": "SIGQUIT", "0x4": "SIGILL", "0x5": "SIGTRAP",
		"0x6": "SIGABRT", "0x7": "SIGBUS", "0x8": "SIGFPE", "0x9": "SIGKILL", "0xa": "SIGUSR1",
		"0xb": "SIGSEGV", "0xc": "SIGUSR2", "0xd": "SIGPIPE", "0xe": "SIGALRM", "0xf": "SIGTERM",
	}
	if n, ok := names[s]; ok {
		return n
	}
	if e, ok := windowsExceptions[s]; ok {
		return e[0] // [signal 0xc0000005 code=0x0 addr=0x0 pc=0x…] on Windows
	}
	return s
}

func (d *dumpState) blank(p *parser) {
	switch d.phase {
	case phaseHeader:
		d.msgDone = true
	case phaseGoroutine:
		d.finishGoroutine(p)
		d.phase = phaseBetween
	case phaseRuntime:
		d.phase = phaseBetween
	}
}

func (d *dumpState) startGoroutine(p *parser, id int, inner []byte) {
	d.finishGoroutine(p)
	d.confirmed = !d.pending
	d.noise = 0
	d.phase = phaseGoroutine
	d.crash.Goroutines++
	g := &d.g
	g.active = true
	g.id = id
	g.state, g.minutes, g.locked = goroutineState(inner)
	g.raw = g.raw[:0]
	g.arena = g.arena[:0]
	g.elided = false
	g.createdBy = nil
	g.inCreated = false
	g.hash.Reset()
	g.hash.WriteString(g.state)
}

// frameLine handles a line inside a goroutine's stack.
func (d *dumpState) frameLine(p *parser, l []byte) bool {
	g := &d.g
	if file, n, off, ok := fileLine(l); ok {
		if g.inCreated && g.createdBy != nil {
			g.createdBy.File, g.createdBy.Line = reuse(&p.createdFile, file), n
			g.inCreated = false
			return true
		}
		if len(g.raw) > 0 {
			f := &g.raw[len(g.raw)-1]
			if !f.hasFile {
				f.hasFile = true
				if len(off) > 0 {
					// file and off are in l, off after file: one copy.
					// (Slicing keeps the end of the backing array, so
					// the difference of the capacities is off's place.)
					at := cap(file) - cap(off)
					s := g.put(file[:at+len(off)])
					f.file, f.off = span{s.start, s.start + len(file)}, span{s.start + at, s.end}
				} else {
					f.file, f.off = g.put(file), span{len(g.arena), len(g.arena)}
				}
				f.line = n
				g.hash.writePos(file, n)
				if fn := g.arena[f.fn.start:f.fn.end]; d.goroot == "" && len(fn) >= 8 && string(fn[:8]) == "runtime." {
					if i := bytes.LastIndex(file, []byte("/src/runtime/")); i >= 0 {
						d.goroot = string(file[:i+len("/src/")])
					}
				}
			}
		}
		return true
	}
	t := l // not indented, as a function line: trimIndent without a call
	if len(l) == 0 || !graphic[l[0]] {
		t, _ = trimIndent(l)
	}
	switch {
	case len(t) == 0:
	case t[0] == 'c' && bytes.HasPrefix(t, prefixCreatedBy):
		c := t[len(prefixCreatedBy):]
		cb := &CreatedBy{}
		if i := bytes.Index(c, []byte(" in goroutine ")); i >= 0 {
			cb.Goroutine = atoi(c[i+len(" in goroutine "):])
			c = c[:i]
		}
		cb.Function = reuse(&p.createdFn, c)
		g.createdBy = cb
		g.inCreated = true
		return true
	case t[0] == '.' && (bytes.HasPrefix(t, prefixElided) || (bytes.HasPrefix(t, []byte("...")) && bytes.HasSuffix(t, []byte("frames elided...")))):
		g.elided = true
		return true
	case t[0] == 'g' && bytes.HasPrefix(t, prefixNoStack):
		return true
	}
	if fn, args, ok := funcLine(l); ok {
		if len(g.raw) >= p.opts.MaxFrames {
			g.elided = true
			return true
		}
		// fn and args are l but for "(" and ")": one copy.
		s := g.put(l)
		// Appended zero, then set: a literal would be copied from the
		// stack, and its 16-byte loads wait for the 8-byte stores.
		g.raw = append(g.raw, rawFrame{})
		f := &g.raw[len(g.raw)-1]
		f.fn, f.args = span{s.start, s.start + len(fn)}, span{s.end - 1 - len(args), s.end - 1}
		g.hash.Write(fn)
		return true
	}
	if fn, ok := bareFuncLine(l); ok && (len(g.raw) == 0 || g.raw[len(g.raw)-1].hasFile) {
		// gccgo: "main.main" with no argument list (see bareFuncLine).
		if len(g.raw) >= p.opts.MaxFrames {
			g.elided = true
			return true
		}
		g.raw = append(g.raw, rawFrame{fn: g.put(fn)})
		g.hash.Write(fn)
		return true
	}
	return false
}

// finishGoroutine ends the goroutine being read: the first one of a dump is
// the crashing one, kept in full; the others go to buckets.
func (d *dumpState) finishGoroutine(p *parser) {
	g := &d.g
	if !g.active {
		return
	}
	g.active = false
	if d.headless {
		d.headless = false
		switch d.inferFromFirstStack(p) {
		case firstStackLogged:
			// The goroutines that follow belong to the same logged
			// dump (pprof, runtime.Stack of all): read them, then drop it.
			d.pending, d.logged, d.notBlocked = true, true, true
		case firstStackUndecided:
			d.pending = true
		}
	}
	if d.pending && !systemGoroutine(g) && !blockedForever(g.state) {
		d.notBlocked = true
	}
	if !d.haveCrashing {
		d.haveCrashing = true
		d.crash.Goroutine = &Goroutine{
			ID: g.id, State: g.state, WaitMinutes: g.minutes, LockedToThread: g.locked,
			Frames: g.frames(), FramesElided: g.elided, CreatedBy: g.createdBy,
		}
		if g.elided {
			d.crash.Truncated = true
		}
		return
	}
	key := g.hash.Sum64()
	b := d.buckets[key]
	if b == nil {
		if len(d.bucketOrder) >= p.opts.MaxBuckets {
			d.bucketCut++
			return
		}
		b = &bucketBuild{b: Bucket{State: g.state, Frames: g.frames()}}
		if d.buckets == nil {
			d.buckets = map[uint64]*bucketBuild{}
		}
		d.buckets[key] = b
		d.bucketOrder = append(d.bucketOrder, b)
	}
	b.b.Count++
	if len(b.b.IDs) < p.opts.MaxIDs {
		b.b.IDs = append(b.b.IDs, g.id)
	}
}

// overflowing reports whether the goroutine being finished is growing its
// stack: runtime.morestack or runtime.newstack among its innermost frames
// or in the runtime stack printed before it.
func (d *dumpState) overflowing() bool {
	g := &d.g
	if d.growing {
		return true
	}
	for i, r := range g.raw {
		if i == 3 {
			break
		}
		if isGrowing(g.arena[r.fn.start:r.fn.end]) {
			return true
		}
	}
	return false
}

// result turns the dump into its Crash.
func (d *dumpState) result(p *parser) *Crash {
	c := &d.crash
	if len(d.panics) > 1 {
		c.Panics = d.panics
	}
	switch c.Kind {
	case KindDeadlock, KindSigquit, KindRace:
		c.Crashing = false
	default:
		c.Crashing = c.Goroutine != nil
	}
	if c.Kind == KindFatalError && c.Message == "" && len(d.runtimeLines) > 0 {
		c.Message = d.runtimeLines[0]
	}
	sort.SliceStable(d.bucketOrder, func(i, j int) bool { return d.bucketOrder[i].b.Count > d.bucketOrder[j].b.Count })
	c.Buckets = make([]Bucket, 0, len(d.bucketOrder))
	for _, b := range d.bucketOrder {
		c.Buckets = append(c.Buckets, b.b)
	}
	if d.bucketCut > 0 {
		c.Truncated = true
	}
	if len(p.races) > 0 {
		c.Races = p.races
		if c.Kind == KindRace && c.Goroutine == nil {
			c.Goroutine, _ = raceGoroutine(p.races[0])
		}
	}
	if p.raceCut {
		c.Truncated = true
	}
	inApp := inAppFunc(p.opts.MainModule, d.goroot)
	mark := func(fs []Frame) {
		for i := range fs {
			fs[i].InApp = inApp(fs[i])
		}
	}
	if c.Goroutine != nil {
		mark(c.Goroutine.Frames)
	}
	for i := range c.Buckets {
		mark(c.Buckets[i].Frames)
	}
	for i := range c.Races {
		for j := range c.Races[i].Accesses {
			mark(c.Races[i].Accesses[j].Frames)
		}
	}
	if c.Goroutine != nil {
		c.TopFrame, c.Origin, c.Culprit = locate(c.Goroutine.Frames)
	}
	if c.Buckets == nil {
		c.Buckets = []Bucket{}
	}
	return c
}
