package parse

import "bytes"

// Line wrapping at a fixed width.
//
// A log pipeline that wraps long lines at a fixed width (a terminal
// capture, a CI log viewer, a collector with a line-length limit) splits a
// frame's function line or file line in two or more pieces, each but the
// last exactly that wide. The width is detected from the lines themselves:
// a line of one of the usual widths (wrapWidths) whose next line does not
// look like the start of a dump line (continuesWrap) is joined with it, and
// its width learnt (the first such line must look like a piece of a dump,
// dumpish, so that prose is not joined); from then on only lines of exactly that width are
// joined. The pieces may each carry a log prefix (a Kubernetes CRI "P"
// line, a journald line per piece): the width is that of the text after
// the prefix. Or the pipeline wrapped lines a log system had already
// prefixed (a terminal, a viewer): the first piece has the prefix and is
// of the width with it, the later pieces are bare — and bareness, where
// every line of its own has a prefix, tells a piece even when it begins
// with a blank. Not read: a wrap that cuts the header line a prefix of no
// known form is learnt from (learnPrefix).
//
//	Regexp: ^.{N}$ followed by a line that is not ^(\t| *$|goroutine [0-9]|created by |\.\.\.|<header>|<frame line>)
//	Signature: main.(*Server).hand / le(0xc000010000, 0x5)

// wrapWidths are the widths a wrapping pipeline uses, tried until one is
// learnt.
var wrapWidths = [...]int{64, 72, 76, 78, 79, 80, 100, 120, 128, 132, 140, 150, 160, 200, 240, 250, 255, 256, 300, 320, 400, 500, 512, 1000, 1024}

func isWrapWidth(n int) bool {
	return n >= 0 && n < len(wrapWidthSet) && wrapWidthSet[n]
}

// wrapWidthSet[n] tells whether n is one of wrapWidths: every line's
// length is looked up.
var wrapWidthSet = func() []bool {
	t := make([]bool, wrapWidths[len(wrapWidths)-1]+1)
	for _, w := range wrapWidths {
		t[w] = true
	}
	return t
}()

// wrapCandidate reports whether l may be the first piece of a wrapped line.
// n is the length of the whole line, with its prefixes: a pipeline that
// wraps what a log system already prefixed (a terminal, a viewer) leaves
// the later pieces bare, and its width is that of the whole line.
func (p *parser) wrapCandidate(l []byte, n int) bool {
	if len(l) == 0 {
		return false
	}
	if p.wrapWidth > 0 {
		if p.wrapWhole {
			return n == p.wrapWidth
		}
		return len(l) == p.wrapWidth
	}
	p.wrapByLen = isWrapWidth(len(l))
	p.wrapByWhole = n > len(l) && isWrapWidth(n)
	return (p.wrapByLen || p.wrapByWhole) && dumpish(l)
}

// wrapIgnores reports whether wrapLine would only hand l to text: no piece
// is held, no width is learnt, and neither l's length nor the whole line's
// is a wrap width, so wrapCandidate cannot hold it. line asks first, to
// spare most lines the call.
func (p *parser) wrapIgnores(l []byte, n int) bool {
	return !p.wrapHeld && p.wrapWidth == 0 && !isWrapWidth(len(l)) && !isWrapWidth(n)
}

// dumpish tells a line that may be a piece of a dump's line from log text,
// before a width is learnt: a header (a cut one too, a Windows exception
// report's), a "[signal", "PC=", "runtime: " or "created by" line, the first line of a race report's
// block, an indented file line (by a tab, or by spaces before a path), or a
// function line's start (no blank before its first parenthesis).
func dumpish(l []byte) bool {
	if StartsDump(l) || l[0] == '\t' || bytes.HasPrefix(l, prefixSignal) || bytes.HasPrefix(l, prefixPC) || bytes.HasPrefix(l, prefixRuntime) ||
		bytes.HasPrefix(l, []byte("Exception 0x")) ||
		bytes.HasPrefix(l, prefixCreatedBy) {
		return true
	}
	if _, _, ok := cutHeader(l); ok {
		return true
	}
	for _, race := range raceBlockStarts {
		if bytes.HasPrefix(l, race) {
			return true
		}
	}
	if l[0] == ' ' {
		// A file line indented by spaces, maybe cut inside its path.
		t := bytes.TrimLeft(l, " ")
		word, _, _ := bytes.Cut(t, []byte(" "))
		return bytes.ContainsAny(word, `/\`)
	}
	sp := bytes.IndexByte(l, ' ')
	return sp < 0 || bytes.IndexByte(l[:sp], '(') > 0
}

// raceBlockStarts are the first words of a race report's block lines
// (lines.go raceAccess), which a wrap may cut before their end.
var raceBlockStarts = [][]byte{[]byte("Read at "), []byte("Write at "), []byte("Read by "), []byte("Write by "),
	[]byte("Previous read "), []byte("Previous write "), []byte("Atomic "), []byte("Previous atomic "), []byte("Goroutine ")}

// continuesWrap reports whether next continues prev, a line of the wrap
// width, rather than starting a line of its own: next is not blank, not
// indented (a file line, a re-panic), not a goroutine header, a header, a
// "created by" or elided-frames line, and not a frame line that follows a
// complete line of the dump (a file line after a function line, a function
// line after a file line).
func continuesWrap(prev, next []byte) bool {
	if len(bytes.TrimSpace(next)) == 0 || next[0] == '\t' || next[0] == '^' {
		return false
	}
	if next[0] == ' ' {
		// Indented by spaces: a file line or a re-panic, unless the wrap
		// fell before a blank inside a line (" 0x0, 0x5)").
		if _, _, _, ok := fileLine(next); ok || bytes.HasPrefix(bytes.TrimLeft(next, " "), prefixPanic) {
			return false
		}
	}
	if StartsDump(next) || bytes.HasPrefix(next, prefixCreatedBy) || bytes.HasPrefix(next, []byte("...")) ||
		bytes.HasPrefix(next, prefixSignal) || bytes.HasPrefix(next, prefixPC) || bytes.HasPrefix(next, prefixRuntimeStk) ||
		bytes.HasPrefix(next, []byte("exit status ")) || bytes.HasPrefix(next, []byte("==")) || isRegisterLine(next) {
		return false
	}
	if _, _, _, ok := fileLine(next); ok {
		if _, _, ok := funcLine(prev); ok {
			return false
		}
		if _, ok := bareFuncLine(prev); ok {
			return false
		}
		if bytes.HasPrefix(bytes.TrimLeft(prev, " \t"), prefixCreatedBy) {
			return false
		}
	}
	if _, _, ok := funcLine(next); ok {
		if _, _, _, ok := fileLine(prev); ok {
			return false
		}
		if _, _, ok := goroutineHeader(prev); ok {
			return false
		}
	}
	return true
}

// wrapLine takes a line without its prefixes: it is held when it may be
// the first piece of a wrapped line, joined to the held pieces when it
// continues them, and handed to text otherwise.
func (p *parser) wrapLine(l []byte, n int, textStart int64) {
	if p.wrapHeld {
		// A wrap of whole lines leaves the later pieces bare while every
		// line of its own has a prefix: bareness tells a piece, which may
		// then begin with a blank (the wrap fell before one).
		bare := n == len(l)
		prev := p.wrapBuf[len(p.wrapBuf)-p.wrapLast:]
		ok := false
		switch {
		case len(p.wrapBuf)+len(l) > p.opts.MaxLine:
		case p.wrapWidth > 0 && p.wrapWhole:
			ok = bare && len(bytes.TrimSpace(l)) > 0
		case p.wrapWidth > 0:
			ok = continuesWrap(prev, l)
		case bare && p.wrapByWhole && continuesWrap(prev, bytes.TrimLeft(l, " ")):
			ok, p.wrapWidth, p.wrapWhole = true, p.wrapHeldN, true
		case p.wrapByLen && continuesWrap(prev, l):
			ok, p.wrapWidth = true, p.wrapLast
		}
		if ok {
			p.wrapBuf = append(p.wrapBuf, l...)
			p.wrapLast, p.wrapHeldN = len(l), n
			if n == p.wrapWidth && (bare || !p.wrapWhole) || len(l) == p.wrapWidth && !p.wrapWhole {
				return // more pieces may follow
			}
			p.flushWrap()
			return
		}
		p.flushWrap()
	}
	if p.wrapCandidate(l, n) {
		p.wrapHeld = true
		p.wrapBuf = append(p.wrapBuf[:0], l...)
		p.wrapLast, p.wrapHeldN = len(l), n
		p.wrapLineStart, p.wrapTextStart = p.lineStart, textStart
		return
	}
	p.text(l, textStart)
}

// flushWrap hands the held line, joined, to text.
func (p *parser) flushWrap() {
	if !p.wrapHeld {
		return
	}
	p.wrapHeld = false
	lineStart := p.lineStart
	p.lineStart = p.wrapLineStart
	p.text(p.wrapBuf, p.wrapTextStart)
	p.lineStart = lineStart
}
