package parse

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// This file classifies single lines. Each function documents the lines it
// accepts in panicparse's grammar: Regexp is what matches, Signature what is
// taken from it.

// StartsDump reports whether line (without its newline) begins a crash
// dump, or a goroutine section that belongs to one:
//
//	Regexp: ^(panic: |fatal error: |SIG[A-Z0-9]+: |WARNING: DATA RACE|runtime: |goroutine [0-9]|Exception 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+$)
//
// supervise calls it on every line of the child's stderr to know where to
// start keeping the dump, so it allocates nothing.
func StartsDump(line []byte) bool {
	if len(line) < 6 {
		return false
	}
	switch line[0] {
	case 'p':
		return bytes.HasPrefix(line, prefixPanic)
	case 'f':
		return bytes.HasPrefix(line, prefixFatal)
	case 'S':
		_, ok := signalHeader(line)
		return ok
	case 'W':
		return bytes.HasPrefix(line, prefixRace)
	case 'E':
		_, _, ok := exceptionHeader(line)
		return ok
	case 'r':
		return bytes.HasPrefix(line, prefixRuntime)
	case 'g':
		return bytes.HasPrefix(line, prefixGoroutine) && len(line) > len(prefixGoroutine) && isDigit(line[len(prefixGoroutine)])
	}
	return false
}

// StartsHeader reports whether line is the first line of a crash report of
// its own — StartsDump without the goroutine sections, which also occur in
// the middle of a dump:
//
//	Regexp: ^(panic: |fatal error: |SIG[A-Z0-9]+: |WARNING: DATA RACE|runtime: |Exception 0x…)
func StartsHeader(line []byte) bool {
	return StartsDump(line) && line[0] != 'g'
}

var (
	prefixPanic      = []byte("panic: ")
	prefixFatal      = []byte("fatal error: ")
	prefixRace       = []byte("WARNING: DATA RACE")
	prefixRuntime    = []byte("runtime: ")
	prefixGoroutine  = []byte("goroutine ")
	prefixCreatedBy  = []byte("created by ")
	prefixSignal     = []byte("[signal ")
	prefixRuntimeStk = []byte("runtime stack:")
	prefixElided     = []byte("...additional frames elided...")
	prefixNoStack    = []byte("goroutine running on other thread; stack unavailable")
	prefixRaceEnd    = []byte("==================")
	prefixCgoSignal  = []byte("signal arrived during ")
	prefixPC         = []byte("PC=")
	suffixRecovered  = []byte(" [recovered]")
	suffixRepanicked = []byte(" [recovered, repanicked]")
)

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// signalHeader matches the runtime's own signal report:
//
//	Regexp: ^(SIG[A-Z0-9]+): (.+)$
//	Signature: SIGSEGV: segmentation violation
//
// It returns the signal name.
func signalHeader(line []byte) ([]byte, bool) {
	if len(line) < 6 || line[0] != 'S' || line[1] != 'I' || line[2] != 'G' {
		return nil, false
	}
	i := 3
	for i < len(line) && (('A' <= line[i] && line[i] <= 'Z') || isDigit(line[i])) {
		i++
	}
	if i == 3 || i+2 > len(line) || line[i] != ':' || line[i+1] != ' ' || i+2 == len(line) {
		return nil, false
	}
	return line[:i], true
}

// goroutineHeader matches a goroutine's first line:
//
//	Regexp: ^goroutine ([0-9]+)( gp=0x[0-9a-f]+ m=([0-9]+|nil)( mp=0x[0-9a-f]+)?)? \[(.+)\]( labels:\{.*\})?:$
//	Signature: goroutine 7 [chan receive, 5 minutes, locked to thread]:
func goroutineHeader(line []byte) (id int, inner []byte, ok bool) {
	if len(line) < len(prefixGoroutine) || line[0] != 'g' || string(line[:len(prefixGoroutine)]) != "goroutine " {
		return 0, nil, false
	}
	rest := line[len(prefixGoroutine):]
	n := 0
	for n < len(rest) && isDigit(rest[n]) {
		n++
	}
	if n == 0 || n > 18 {
		return 0, nil, false
	}
	id = atoi(rest[:n])
	rest = rest[n:]
	if len(rest) == 0 || rest[len(rest)-1] != ':' {
		return 0, nil, false
	}
	open := bytes.IndexByte(rest, '[')
	if open < 0 {
		return 0, nil, false
	}
	// The state ends at the ']' that closes open; labels after it may hold
	// brackets of their own.
	depth := 0
	for i := open; i < len(rest); i++ {
		switch rest[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return id, rest[open+1 : i], true
			}
		}
	}
	return 0, nil, false
}

// goroutineState splits the bracketed part of a goroutine header:
//
//	Signature: chan receive (leaked), 5 minutes, locked to thread
func goroutineState(inner []byte) (state string, minutes int, locked bool) {
	first := true
	for len(inner) > 0 {
		part := inner
		if i := bytes.Index(inner, []byte(", ")); i >= 0 {
			part, inner = inner[:i], inner[i+2:]
		} else {
			inner = nil
		}
		switch {
		case first:
			state = string(part)
			first = false
		case bytes.Equal(part, []byte("locked to thread")):
			locked = true
		case bytes.HasSuffix(part, []byte(" minutes")) || bytes.HasSuffix(part, []byte(" minute")):
			minutes = atoi(part[:bytes.IndexByte(part, ' ')])
		}
	}
	return state, minutes, locked
}

// atoi parses leading decimal digits, saturating instead of overflowing.
func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			break
		}
		if n > (1<<62)/10 {
			return 1 << 62
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// fileLine matches the position line under a function line:
//
//	Regexp: ^\s*(.+\.(go|s|c|h)|<autogenerated>|\?\?):([0-9]+)( \+0x[0-9a-f]+)?( fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?$
//	Signature: 	/src/api/server.go:42 +0x1d
//	Signature: 	testing/testing.go:1700 +0x1d (-trimpath)
//	Signature: 	??:0 (gccgo, position unknown)
//
// The runtime prints a tab before the file (runtime/traceback.go,
// printFuncName/print("\t", file, ":", line)); a log system may have turned
// it into spaces or an em-space, or dropped it. Without any indentation the
// file must end in a source suffix (.go, .s, .c, .h, .cc, .cpp), be
// <autogenerated> or ?? and hold no blank, so that a log line is not taken
// for a position.
func fileLine(line []byte) (file []byte, lineNo int, offset []byte, ok bool) {
	if len(line) == 0 {
		return nil, 0, nil, false
	}
	s, indented := line[1:], true // trimIndent's fast path, without a call
	if line[0] != '\t' || len(line) < 2 || !graphic[line[1]] {
		s, indented = trimIndent(line)
	}
	// The file ends at the first colon followed by digits and then the
	// end, " +0x" or " fp=" ("C:/x.go:12": the drive's colon is not it).
	colon, j := -1, 0
	for from := 0; ; {
		i := bytes.IndexByte(s[from:], ':')
		if i < 0 {
			return nil, 0, nil, false
		}
		colon = from + i
		j = colon + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j > colon+1 && (j == len(s) || s[j] == ' ') {
			break
		}
		from = colon + 1
	}
	if colon == 0 {
		return nil, 0, nil, false
	}
	switch rest := s[j:]; {
	case len(rest) == 0, hasFP(rest):
	case len(rest) >= 4 && string(rest[:4]) == " +0x":
		offset = rest[2:]
		k := 2 // after "0x"; the offset is short: no IndexByte
		for k < len(offset) && offset[k] != ' ' {
			k++
		}
		if k < len(offset) {
			if !hasFP(offset[k:]) {
				return nil, 0, nil, false
			}
			offset = offset[:k]
		}
	default:
		return nil, 0, nil, false
	}
	if !indented && !isSourceFile(s[:colon]) {
		return nil, 0, nil, false
	}
	return s[:colon], atoi(s[colon+1 : j]), offset, true
}

// hasFP reports whether b begins with " fp=".
func hasFP(b []byte) bool { return len(b) >= 4 && string(b[:4]) == " fp=" }

func isSourceFile(f []byte) bool {
	if bytes.IndexByte(f, ' ') >= 0 || bytes.IndexByte(f, '\t') >= 0 {
		return false
	}
	if string(f) == "<autogenerated>" || string(f) == "??" {
		return true
	}
	for _, ext := range []string{".go", ".s", ".c", ".h", ".cc", ".cpp"} {
		if len(f) > len(ext) && string(f[len(f)-len(ext):]) == ext {
			return true
		}
	}
	return false
}

// isBlank reports whether l is empty or white space only, as
// len(bytes.TrimSpace(l)) == 0 does, without a call when l ends in an
// ASCII byte that is not a space (a frame's lines do).
func isBlank(l []byte) bool {
	return len(l) == 0 || !graphic[l[len(l)-1]] && isSpaces(l)
}

//go:noinline
func isSpaces(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 }

// graphic holds the ASCII bytes that are not white space or control
// characters: one of them is never part of a wider character.
var graphic = func() (t [256]bool) {
	for c := '!'; c < utf8.RuneSelf; c++ {
		t[c] = c != 0x7f
	}
	return t
}()

// trimIndent removes the indentation of a line: blanks and tabs, and the
// Unicode spaces a copy through an editor or a web page puts in their place
// (U+00A0, U+2000–U+200A, U+202F, U+205F, U+3000). It reports whether there
// was any.
func trimIndent(l []byte) ([]byte, bool) {
	// Inlined fast paths for a frame's lines: the runtime's one tab, or
	// none (an ASCII byte that is not a space cannot start a wide one).
	if len(l) > 1 && l[0] == '\t' && graphic[l[1]] {
		return l[1:], true
	}
	if len(l) > 0 && graphic[l[0]] {
		return l, false
	}
	return trimIndentSlow(l)
}

func trimIndentSlow(l []byte) ([]byte, bool) {
	i := 0
loop:
	for i < len(l) {
		switch c := l[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == 0xc2 && i+1 < len(l) && l[i+1] == 0xa0:
			i += 2
		case c == 0xe2 && i+2 < len(l) && l[i+1] == 0x80 && (l[i+2] <= 0x8a || l[i+2] == 0xaf),
			c == 0xe2 && i+2 < len(l) && l[i+1] == 0x81 && l[i+2] == 0x9f,
			c == 0xe3 && i+2 < len(l) && l[i+1] == 0x80 && l[i+2] == 0x80:
			i += 3
		default:
			break loop
		}
	}
	return l[i:], i > 0
}

// bareFuncLine matches the function line of a gccgo traceback, which has no
// argument list:
//
//	Regexp: ^([^\s=,"']*[._?][^\s=,"']*|[a-z]+)$
//	Signature: main.main
//	Signature: __go_panic (gccgo ≤ 6, libgo/runtime/go-panic.c)
//
// gccgo's printtrace (libgo/go/runtime/traceback_gccgo.go, gcc 7+) prints
// print(name, "\n\t", file, ":", line, "\n"); its C runtime before
// (libgo/runtime/go-traceback.c) printed "%S\n\t%S:%D\n" the same way.
func bareFuncLine(line []byte) ([]byte, bool) {
	if len(line) < 2 || line[0] == ' ' || line[0] == '\t' || line[len(line)-1] == ':' {
		return nil, false
	}
	mark, lower := false, true
	for _, c := range line {
		switch {
		case c == ' ' || c == '\t' || c == '=' || c == ',' || c == '"' || c == '\'':
			return nil, false
		case c == '.' || c == '_' || c == '?':
			mark = true
		case c < 'a' || c > 'z':
			lower = false
		}
	}
	// A name with no dot is a C function of gccgo's runtime (panic,
	// kickoff): lower-case letters only.
	return line, mark || lower
}

// funcLine matches a frame's function line:
//
//	Regexp: ^(\S.*)\((.*)\)$
//	Signature: main.(*Server).handle(0xc000010000, 0x5)
//	Signature: main.Map[...](...)
//	Signature: panic({0x4a1b20?, 0x5f3c10?})
//
// The arguments are what the last top-level parentheses hold.
func funcLine(line []byte) (fn, args []byte, ok bool) {
	if len(line) < 3 || line[len(line)-1] != ')' || line[0] == ' ' || line[0] == '\t' {
		return nil, nil, false
	}
	// Most arguments hold no parentheses: the first one before the last
	// byte is the "(" that opens them.
	for i := len(line) - 2; i > 0; i-- {
		if c := line[i]; c == '(' {
			return line[:i], line[i+1 : len(line)-1], true
		} else if c == ')' {
			break
		}
	}
	depth := 0
	for i := len(line) - 1; i >= 0; i-- {
		switch line[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				if i == 0 {
					return nil, nil, false
				}
				return line[:i], line[i+1 : len(line)-1], true
			}
		}
	}
	return nil, nil, false
}

// raceAccess matches the first line of a block of a race report, as
// ThreadSanitizer's Go reporter prints it (compiler-rt
// lib/tsan/rtl/tsan_report.cpp, PrintMop and PrintThread; Go's
// runtime/race/README names the version each Go release embeds):
//
//	Regexp: ^(Write|Read|Previous write|Previous read|Atomic write|...) at (0x[0-9a-f]+) by (goroutine ([0-9]+)|main goroutine):$
//	Regexp: ^(Write|Read|Previous write|Previous read) by (goroutine ([0-9]+)|main goroutine):$ (Go 1.2–1.5: no address)
//	Regexp: ^Goroutine ([0-9]+) \((running|finished)\) created at:$
func raceAccess(line []byte) (op string, addr string, gid int, ok bool) {
	if bytes.HasPrefix(line, []byte("Goroutine ")) && bytes.HasSuffix(line, []byte(" created at:")) {
		rest := line[len("Goroutine "):]
		return "created", "", atoi(rest), isDigit(rest[0])
	}
	by := bytes.LastIndex(line, []byte(" by "))
	if by <= 0 || line[len(line)-1] != ':' {
		return "", "", 0, false
	}
	what := line[:by]
	if at := bytes.Index(what, []byte(" at 0x")); at > 0 {
		addr = string(what[at+4:])
		what = what[:at]
	}
	for _, c := range what {
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == ' ') {
			return "", "", 0, false
		}
	}
	op = string(bytes.ToLower(what))
	who := line[by+4 : len(line)-1]
	switch {
	case bytes.Equal(who, []byte("main goroutine")):
		gid = 1
	case bytes.HasPrefix(who, []byte("goroutine ")) && len(who) > len("goroutine ") && isDigit(who[len("goroutine ")]):
		gid = atoi(who[len("goroutine "):])
	default:
		return "", "", 0, false
	}
	return op, addr, gid, true
}

// stripPrefix removes what log systems put before each line of a child's
// stderr. Each line is read on its own, so prefixes of different kinds may
// mix in one dump; up to three stacked prefixes are removed (a CI runner's
// timestamp, then "##[error]"). The forms, as each system prints them:
//
//	Regexp: ^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}(\.[0-9]+)? \S+ [^\s:]+: (syslog; journalctl -o short, short-precise)
//	Regexp: ^[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[T _][0-9:]{8}([.,][0-9]+)?(Z|[+-][0-9:]{2,5})? (RFC 3339, Go's log.LstdFlags, docker logs -t, CI runners, svlogd -tt)
//	Regexp: ^@[0-9a-f]{24} (TAI64N: svlogd -t, multilog t)
//	Regexp: ^<RFC 3339> (stdout|stderr) [FP] (Kubernetes CRI, the kubelet's container log files)
//	Regexp: ^<RFC 3339> \S+ [^\s:]+\[[0-9]+\]: (journalctl -o short-iso)
//	Regexp: ^[0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)? (Go's log.Ltime)
//	Regexp: ^\[[ 0-9.:T/+Z-]+\] (dmesg, journalctl -o short-monotonic, bracketed timestamps)
//	Regexp: ^##\[[a-z]+\] (GitHub Actions and Azure Pipelines workflow commands)
//	Regexp: ^[EWIDVF]/[A-Za-z0-9 ]+(\([ 0-9]+\))?: (Android logcat -v brief)
//	Regexp: ^[0-9]{2}-[0-9]{2} [0-9:.]{12} +[0-9]+ +[0-9]+ [EWIDVF] [^:]*: (Android logcat -v threadtime)
//	Regexp: ^[A-Za-z0-9_.-]+ +\| (docker compose)
func stripPrefix(line []byte) []byte {
	for range 3 {
		rest := stripOnePrefix(line)
		if len(rest) == len(line) {
			break
		}
		line = rest
	}
	return line
}

func stripOnePrefix(line []byte) []byte {
	if len(line) < 4 {
		return line
	}
	c := line[0]
	switch {
	case c == '\t' || ('a' <= c && c <= 'z' && line[1] != '.' && line[1] != '/'):
		// Fast path for the frames of a dump, then docker compose's "api-1  | ".
		if c != '\t' && bytes.IndexByte(line[:min(len(line), 66)], '|') > 0 {
			return stripCompose(line)
		}
	case c == '[':
		if n := bracketStamp(line); n > 0 {
			return stripHostTag(line[n:], true)
		}
	case c == '@':
		// runit's svlogd -t, daemontools' multilog t: "@" and a TAI64N
		// label, 24 hex digits.
		if len(line) > 25 && line[25] == ' ' && isHex(line[1:25]) {
			return line[26:]
		}
	case c == '#':
		if bytes.HasPrefix(line, []byte("##[")) {
			if end := bytes.IndexByte(line[:min(len(line), 24)], ']'); end > 3 && isLower(line[3:end]) {
				return line[end+1:]
			}
		}
	case 'A' <= c && c <= 'Z' && line[1] == '/':
		if i := bytes.Index(line[:min(len(line), 48)], []byte(": ")); i > 2 && isLogcatTag(line[2:i]) {
			return line[i+2:]
		}
	case 'A' <= c && c <= 'Z':
		if n := syslogStamp(line); n > 0 {
			return stripHostTag(line[n:], false)
		}
		return stripCompose(line)
	case isDigit(c):
		if n := dateStamp(line); n > 0 {
			rest := line[n:]
			for _, stream := range [][]byte{[]byte("stderr F "), []byte("stderr P "), []byte("stdout F "), []byte("stdout P ")} {
				if bytes.HasPrefix(rest, stream) {
					return rest[len(stream):]
				}
			}
			return stripHostTag(rest, true)
		}
		if n := logcatStamp(line); n > 0 {
			return line[n:]
		}
		if n := clockStamp(line); n > 0 {
			return line[n:]
		}
		return stripCompose(line)
	}
	return line
}

// digits reports whether b[i:i+n] are all decimal digits.
func digits(b []byte, i, n int) bool {
	if i+n > len(b) {
		return false
	}
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// clockStamp matches "15:04:05", an optional fraction and one blank, and
// returns its length, 0 when there is none.
func clockStamp(b []byte) int {
	if !digits(b, 0, 2) || !digits(b, 3, 2) || !digits(b, 6, 2) || b[2] != ':' || b[5] != ':' {
		return 0
	}
	i := 8
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i >= len(b) || b[i] != ' ' {
		return 0
	}
	return i + 1
}

// dateStamp matches "2006-01-02T15:04:05.000Z ", "2006/01/02 15:04:05 "
// and their kin (see stripPrefix) and returns its length, 0 when there is
// none.
func dateStamp(b []byte) int {
	if len(b) < 20 || !digits(b, 0, 4) || !digits(b, 5, 2) || !digits(b, 8, 2) ||
		!(b[4] == '-' || b[4] == '/') || b[7] != b[4] || (b[10] != 'T' && b[10] != ' ' && b[10] != '_') {
		return 0
	}
	n := clockStamp(b[11:])
	if n == 0 {
		// A fraction, then a zone: clockStamp wants the blank at once.
		i := 11 + 8
		if !digits(b, 11, 2) || b[13] != ':' || !digits(b, 14, 2) || b[16] != ':' || !digits(b, 17, 2) {
			return 0
		}
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			i++
			for i < len(b) && isDigit(b[i]) {
				i++
			}
		}
		switch {
		case i < len(b) && b[i] == 'Z':
			i++
		case i < len(b) && (b[i] == '+' || b[i] == '-'):
			i++
			for i < len(b) && (isDigit(b[i]) || b[i] == ':') {
				i++
			}
		}
		if i >= len(b) || b[i] != ' ' {
			return 0
		}
		return i + 1
	}
	return 11 + n
}

// syslogStamp matches "Nov 24 10:00:00 " (and a fraction, journalctl -o
// short-precise) and returns its length, 0 when there is none.
func syslogStamp(b []byte) int {
	if len(b) < 17 || b[3] != ' ' || !('a' <= b[1] && b[1] <= 'z') || !('a' <= b[2] && b[2] <= 'z') ||
		!(b[4] == ' ' || isDigit(b[4])) || !isDigit(b[5]) || b[6] != ' ' {
		return 0
	}
	if n := clockStamp(b[7:]); n > 0 {
		return 7 + n
	}
	return 0
}

// bracketStamp matches "[   12.345678] " or "[2024-01-01 10:00:00] " and
// returns its length, 0 when there is none.
func bracketStamp(b []byte) int {
	end := bytes.IndexByte(b[:min(len(b), 40)], ']')
	if end < 2 || end+1 >= len(b) || b[end+1] != ' ' {
		return 0
	}
	seen := false
	for _, c := range b[1:end] {
		switch {
		case isDigit(c):
			seen = true
		case c == ' ' || c == '.' || c == ':' || c == '-' || c == 'T' || c == '/' || c == '+' || c == 'Z' || c == ',':
		default:
			return 0
		}
	}
	if !seen {
		return 0
	}
	return end + 2
}

// logcatStamp matches logcat -v threadtime's "11-24 10:00:00.123  1234  1250 E Go      : "
// and returns its length, 0 when there is none.
func logcatStamp(b []byte) int {
	if len(b) < 32 || !digits(b, 0, 2) || b[2] != '-' || !digits(b, 3, 2) || b[5] != ' ' {
		return 0
	}
	n := clockStamp(b[6:])
	if n == 0 {
		return 0
	}
	i := 6 + n
	for range 2 { // pid, tid
		for i < len(b) && b[i] == ' ' {
			i++
		}
		j := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == j || i >= len(b) || b[i] != ' ' {
			return 0
		}
		i++
	}
	if i+2 > len(b) || !bytes.ContainsRune([]byte("VDIWEF"), rune(b[i])) || b[i+1] != ' ' {
		return 0
	}
	colon := bytes.Index(b[i:min(len(b), i+64)], []byte(": "))
	if colon < 0 {
		return 0
	}
	return i + colon + 2
}

// stripHostTag removes "host tag[pid]: " after a timestamp (journald,
// syslog); a tag without a pid ("host kernel: ") only when !needPID.
func stripHostTag(rest []byte, needPID bool) []byte {
	host := bytes.IndexByte(rest[:min(len(rest), 256)], ' ')
	if host <= 0 {
		return rest
	}
	after := rest[host+1:]
	sp := bytes.IndexByte(after[:min(len(after), 256)], ' ')
	if sp < 2 || after[sp-1] != ':' || bytes.IndexByte(rest[:host], ':') >= 0 {
		return rest
	}
	if needPID {
		t := after[:sp-1]
		open := bytes.IndexByte(t, '[')
		if open <= 0 || t[len(t)-1] != ']' || len(t)-open-2 == 0 || !digits(t, open+1, len(t)-open-2) {
			return rest
		}
	}
	return after[sp+1:]
}

// stripCompose removes docker compose's "service-1  | ".
func stripCompose(line []byte) []byte {
	i := 0
	for i < len(line) && i < 64 && composeName[line[i]] {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ' ' {
		return line
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i+1 < len(line) && line[i] == '|' && line[i+1] == ' ' {
		return line[i+2:]
	}
	if i+1 == len(line) && line[i] == '|' {
		return line[len(line):]
	}
	return line
}

// composeName holds the bytes of a docker compose service's name.
var composeName = func() (t [256]bool) {
	for c := range t {
		t[c] = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_' || c == '-' || c == '.'
	}
	return t
}()

func isLower(b []byte) bool {
	for _, c := range b {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isLogcatTag(b []byte) bool {
	for _, c := range b {
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || isDigit(c) || c == ' ' || c == '(' || c == ')') {
			return false
		}
	}
	return true
}

// exceptionHeader matches the first line of a Windows exception report
// (runtime/signal_windows.go winthrow: print("Exception ", hex(code), " ",
// hex(info[0]), " ", hex(info[1]), " ", hex(pc))):
//
//	Regexp: ^Exception (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)$
//	Signature: Exception 0xc0000005 0x8 0x0 0x0
func exceptionHeader(l []byte) (code []byte, info [3][]byte, ok bool) {
	rest, found := bytes.CutPrefix(l, []byte("Exception "))
	if !found {
		return nil, info, false
	}
	for i := range 4 {
		w := rest
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			w, rest = rest[:sp], rest[sp+1:]
		} else {
			rest = nil
		}
		if len(w) < 3 || w[0] != '0' || w[1] != 'x' || !isHex(w[2:]) || (i < 3) != (rest != nil) {
			return nil, info, false
		}
		if i == 0 {
			code = w
		} else {
			info[i-1] = w
		}
	}
	return code, info, true
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')) {
			return false
		}
	}
	return len(b) > 0
}

// windowsExceptions names the exception codes a Go program meets, as
// winnt.h and ntstatus.h do, with what they mean.
var windowsExceptions = map[string][2]string{
	"0xc0000005": {"EXCEPTION_ACCESS_VIOLATION", "access violation"},
	"0xc0000006": {"EXCEPTION_IN_PAGE_ERROR", "in-page error"},
	"0xc000001d": {"EXCEPTION_ILLEGAL_INSTRUCTION", "illegal instruction"},
	"0xc000008c": {"EXCEPTION_ARRAY_BOUNDS_EXCEEDED", "array bounds exceeded"},
	"0xc000008e": {"EXCEPTION_FLT_DIVIDE_BY_ZERO", "floating-point divide by zero"},
	"0xc0000094": {"EXCEPTION_INT_DIVIDE_BY_ZERO", "integer divide by zero"},
	"0xc0000095": {"EXCEPTION_INT_OVERFLOW", "integer overflow"},
	"0xc0000096": {"EXCEPTION_PRIV_INSTRUCTION", "privileged instruction"},
	"0xc00000fd": {"EXCEPTION_STACK_OVERFLOW", "stack overflow"},
	"0xc0000374": {"STATUS_HEAP_CORRUPTION", "heap corruption"},
	"0xc0000409": {"STATUS_STACK_BUFFER_OVERRUN", "stack buffer overrun"},
	"0x80000001": {"EXCEPTION_GUARD_PAGE", "guard page violation"},
	"0x80000003": {"EXCEPTION_BREAKPOINT", "breakpoint"},
	"0x80000004": {"EXCEPTION_SINGLE_STEP", "single step"},
	"0xe06d7363": {"EXCEPTION_MSVC_CPP", "C++ exception"},
}

// windowsException returns the name and description of an exception code
// ("0xc0000005"); an unknown code is its own name.
func windowsException(code string) (name, desc string) {
	if e, ok := windowsExceptions[strings.ToLower(code)]; ok {
		return e[0], e[1]
	}
	return code, "exception " + code
}

// prefixShape is a log prefix learnt from the line of a header: its
// blank-separated fields, each to match exactly or, when it begins with a
// digit (a timestamp, a counter), any field that begins with a digit.
type prefixShape struct {
	fields  [][]byte
	numeric []bool
}

// maxLearnedFields and maxLearnedPrefix bound what learnPrefix takes for a
// prefix.
const (
	maxLearnedFields = 6
	maxLearnedPrefix = 160
)

// learnPrefix finds a header after a log prefix of a form stripPrefix does
// not know ("2024-01-01T00:00:00.000+00:00 i-0abc/api ", "app[web.1]: ",
// "[api] "): up to six blank-separated fields, the first not a plain word,
// then what StartsDump or "runtime stack:" begins, possibly after a known
// prefix or a terminal's echo. A field ending in "panic:" or "error:" ends
// the search (the header began there: "...yetpanic: runtime error: x"); a
// field holding '=', '"', '{' or a tab makes a logged message ("level=error
// msg=\"recovered panic: x\""), not a prefix. A cut header ("error: x") is
// too common in log text to teach a prefix. It returns the shape and the
// prefix's length, 0 when there is none.
func learnPrefix(l []byte) (*prefixShape, int) {
	end := min(len(l), maxLearnedPrefix)
	i := 0
	for fields := 0; fields < maxLearnedFields; fields++ {
		plain := true // the field is letters only
		for ; i < end && l[i] != ' '; i++ {
			switch c := l[i]; {
			case c == '=' || c == '"' || c == '{' || c == '\t':
				return nil, 0 // a logged message (logfmt, JSON), not a prefix
			case plain && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'):
				plain = false
			}
		}
		if i >= end || (fields == 0 && plain) {
			// A prefix begins with a field that is not a plain word: a
			// timestamp, "[api]", "app[web.1]:", "i-0abc/api".
			return nil, 0
		}
		i++
		if i+6 > len(l) || !learnableFirst[l[i]] || !startsLearnable(l[i:]) {
			continue
		}
		pfx := l[:i]
		if bytes.Contains(pfx, []byte("panic: ")) || bytes.Contains(pfx, []byte("error: ")) {
			return nil, 0 // the header began before
		}
		return newPrefixShape(pfx), i
	}
	return nil, 0
}

// learnableFirst holds the bytes startsLearnable may accept first.
var learnableFirst = func() (t [256]bool) {
	for _, c := range []byte("pfSWrgE^[#@0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] = true
	}
	return t
}()

func startsLearnable(l []byte) bool {
	if len(l) < 6 {
		return false
	}
	switch c := l[0]; {
	case c == 'p' || c == 'f' || c == 'S' || c == 'W' || c == 'r' || c == 'g' || c == 'E':
	case c == '^':
		l = l[2:]
	case c == '[' || c == '#' || c == '@' || isDigit(c) || ('A' <= c && c <= 'Z'):
		l = stripPrefix(l) // a known prefix after the learnt one
	default:
		return false // the first word of most log text
	}
	return StartsDump(l) || bytes.Equal(l, prefixRuntimeStk)
}

func (s *prefixShape) equal(o *prefixShape) bool {
	if len(s.fields) != len(o.fields) {
		return false
	}
	for i := range s.fields {
		if s.numeric[i] != o.numeric[i] || (!s.numeric[i] && !bytes.Equal(s.fields[i], o.fields[i])) {
			return false
		}
	}
	return true
}

func newPrefixShape(pfx []byte) *prefixShape {
	s := &prefixShape{}
	for _, f := range bytes.Split(pfx[:len(pfx)-1], []byte(" ")) {
		s.fields = append(s.fields, bytes.Clone(f))
		s.numeric = append(s.numeric, len(f) > 0 && isDigit(f[0]))
	}
	return s
}

// strip removes the prefix from l when l begins with one of its shape.
func (s *prefixShape) strip(l []byte) []byte {
	rest := l
	for i, f := range s.fields {
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			if i < len(s.fields)-1 {
				return l
			}
			sp = len(rest) // an empty line whose trailing blank was trimmed
		}
		got := rest[:sp]
		if s.numeric[i] {
			if len(got) == 0 || !isDigit(got[0]) {
				return l
			}
		} else if !bytes.Equal(got, f) {
			return l
		}
		rest = rest[min(sp+1, len(rest)):]
	}
	return rest
}
