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
// the prefix.
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

// wrapCandidate reports whether l may be the first pieces of a wrapped line.
// n is the length of the whole line, with its prefixes (not used yet: a
// pipeline that wraps after adding the prefix, leaving the later pieces
// bare, is not recognised).
func (p *parser) wrapCandidate(l []byte, n int) bool {
	if len(l) == 0 {
		return false
	}
	if p.wrapWidth > 0 {
		return len(l) == p.wrapWidth
	}
	return isWrapWidth(len(l)) && dumpish(l) && n >= 0
}

// dumpish tells a line that may be a piece of a dump's line from log text,
// before a width is learnt: a header, an indented file line, or a function
// line's start (no blank before its first parenthesis).
func dumpish(l []byte) bool {
	if StartsDump(l) || l[0] == '\t' {
		return true
	}
	sp := bytes.IndexByte(l, ' ')
	return sp < 0 || bytes.IndexByte(l[:sp], '(') > 0
}

// continuesWrap reports whether next continues prev, a line of the wrap
// width, rather than starting a line of its own: next is not blank, not
// indented (a file line, a re-panic), not a goroutine header, a header, a
// "created by" or elided-frames line, and not a frame line that follows a
// complete line of the dump (a file line after a function line, a function
// line after a file line).
func continuesWrap(prev, next []byte) bool {
	if len(bytes.TrimSpace(next)) == 0 || next[0] == '\t' || next[0] == ' ' || next[0] == '^' {
		return false
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
		if continuesWrap(p.wrapBuf[len(p.wrapBuf)-p.wrapLast:], l) && len(p.wrapBuf)+len(l) <= p.opts.MaxLine {
			if p.wrapWidth == 0 {
				p.wrapWidth = p.wrapLast
			}
			p.wrapBuf = append(p.wrapBuf, l...)
			p.wrapLast = len(l)
			if len(l) == p.wrapWidth {
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
		p.wrapLast = len(l)
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
