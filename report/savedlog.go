package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Tail keeps the last lines written to it, oldest first, each cut at a
// maximum length, in memory bounded by Lines × MaxLine whatever the size
// of the input: the log tail of a saved log, written the bytes before the
// dump. A line cut at MaxLine ends in "…", between two UTF-8 characters,
// as the run command's capture cuts it (supervise.Capture).
type Tail struct {
	lines   int
	maxLine int

	ring [][]byte
	next int  // next slot of ring
	full bool // every slot holds a line
	line []byte
	cut  bool // the current line is longer than maxLine
	open bool // the current line has bytes and no newline yet
}

const cutMark = "…"

// NewTail returns a Tail that keeps the last lines lines, each cut at
// maxLine bytes. lines ≤ 0 keeps none.
func NewTail(lines, maxLine int) *Tail {
	return &Tail{lines: max(lines, 0), maxLine: max(maxLine, 1)}
}

// Write adds p to the lines; it never fails.
func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if room := t.maxLine - len(t.line); room < len(seg) {
			t.line = append(t.line, seg[:max(room, 0)]...)
			t.cut = true
		} else {
			t.line = append(t.line, seg...)
		}
		t.open = i < 0
		if i >= 0 {
			t.endLine()
		}
	}
	return n, nil
}

func (t *Tail) endLine() {
	line := bytes.TrimSuffix(t.line, []byte{'\r'})
	if t.cut {
		line = append(trimPartialRune(line), cutMark...)
	}
	if t.lines > 0 {
		if t.ring == nil {
			t.ring = make([][]byte, t.lines)
		}
		t.ring[t.next] = append(t.ring[t.next][:0], line...)
		t.next++
		if t.next == t.lines {
			t.next, t.full = 0, true
		}
	}
	t.line, t.cut, t.open = t.line[:0], false, false
}

// Lines returns the kept lines, oldest first, the last one included even
// without its newline. It is never nil.
func (t *Tail) Lines() []string {
	if t.open {
		t.endLine()
	}
	out := []string{}
	if t.full {
		for _, l := range t.ring[t.next:] {
			out = append(out, string(l))
		}
	}
	for _, l := range t.ring[:t.next] {
		out = append(out, string(l))
	}
	return out
}

// trimPartialRune drops the incomplete UTF-8 character a cut left at the
// end of b.
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

// LineTime returns the time a log system wrote at the start of line, the
// first line of a dump in a saved log, so that a report made from the log
// says when the crash happened rather than when it was read:
//
//   - RFC 3339 at the start of the line, up to the first space (Kubernetes
//     CRI "2024-01-01T00:00:00.000000000Z stderr F ", journald short-iso
//     "2024-01-01T10:00:00+0100 host unit[1]: ", Go and logging timestamps);
//   - journald and syslog short and short-precise, "Dec 01 10:00:00 host
//     unit[pid]: " and "Dec 01 10:00:00.123456 ...", in now's location and
//     year, the year before when that would be more than a day after now
//     (a December log read in January);
//   - a JSON object's "time", "ts" or "timestamp" (slog's JSONHandler, a
//     Docker JSON log line).
//
// ok is false when the line starts with none of these.
func LineTime(line string, now time.Time) (t time.Time, ok bool) {
	line = strings.TrimLeft(line, " \t")
	if strings.HasPrefix(line, "{") {
		return jsonTime(line)
	}
	word, _, _ := strings.Cut(line, " ")
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, word); err == nil {
			return t.UTC(), true
		}
	}
	return syslogTime(line, now)
}

func jsonTime(line string) (time.Time, bool) {
	var m map[string]any
	if json.NewDecoder(strings.NewReader(line)).Decode(&m) != nil {
		return time.Time{}, false
	}
	for _, k := range []string{"time", "ts", "timestamp"} {
		if v, ok := m[k]; ok {
			t, err := time.Parse(time.RFC3339Nano, normalizeTime(v))
			return t.UTC(), err == nil
		}
	}
	return time.Time{}, false
}

// syslogTime reads "Jan _2 15:04:05[.000000]" and a space at the start of
// line.
func syslogTime(line string, now time.Time) (time.Time, bool) {
	const stamp = "Jan _2 15:04:05"
	if len(line) < len(stamp)+1 {
		return time.Time{}, false
	}
	end := len(stamp)
	if line[end] == '.' {
		end++
		for end < len(line) && line[end] >= '0' && line[end] <= '9' {
			end++
		}
	}
	if end >= len(line) || line[end] != ' ' {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(stamp+".999999999", line[:end], now.Location())
	if err != nil {
		return time.Time{}, false
	}
	year := now.Year()
	at := func(year int) time.Time {
		return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	}
	if at(year).After(now.Add(24 * time.Hour)) {
		year--
	}
	t = at(year)
	return t.UTC(), true
}
