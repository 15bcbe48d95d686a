package watch

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/prodwrap/prodwrap/report"
)

// Summary is the crash summary prodwrap hands the platform it runs on —
// the Kubernetes termination message, the journal entry, systemd's
// STATUS= — beside the report itself: the service and the kind, the
// message, the culprit's function and file:line, the report id and the
// Sentry event id when Sentry acknowledged the report ("" when not, or not
// yet).
type Summary struct {
	Report *report.Report
	// EventID is the Sentry event id, "" when unknown.
	EventID string
}

// ellipsis ends a value that was cut.
const ellipsis = "…"

// Head is the summary's first line: "api crashed (panic): message", the
// message's first line only.
func (s Summary) Head() string {
	r := s.Report
	msg, _, multi := strings.Cut(r.Crash.Headline(), "\n")
	if multi {
		msg += " " + ellipsis
	}
	return fmt.Sprintf("%s crashed (%s): %s", orUnknown(r.Service), r.Crash.Kind, clean(msg))
}

// Text is the whole summary in at most limit bytes of valid UTF-8 (limit
// ≤ 0: no limit): the head line with the whole message (its lines kept),
// then the culprit, the report id and the event id, one a line. When it
// does not fit, the message is what is cut (it ends in "…"): the lines
// that identify the crash are kept whole, however long the message.
func (s Summary) Text(limit int) string {
	r := s.Report
	head := fmt.Sprintf("%s crashed (%s): ", orUnknown(r.Service), r.Crash.Kind)
	var tail strings.Builder
	if c := r.Crash.Culprit; c != nil {
		fmt.Fprintf(&tail, "\nat %s (%s:%d)", clean(c.Function), clean(c.File), c.Line)
	}
	fmt.Fprintf(&tail, "\nreport %s", clean(r.ID))
	if s.EventID != "" {
		fmt.Fprintf(&tail, "\nsentry event %s", clean(s.EventID))
	}
	tail.WriteByte('\n')
	msg := clean(r.Crash.Headline())
	if limit > 0 {
		if room := limit - len(head) - tail.Len(); len(msg) > room {
			msg = cutUTF8(msg, room-len(ellipsis)) + ellipsis
		}
	}
	out := head + msg + tail.String()
	if limit > 0 && len(out) > limit {
		// Only when the identifying lines alone are longer than limit.
		out = cutUTF8(out, limit)
	}
	return out
}

// Culprit is "function (file:line)" of the culprit, "" without one.
func (s Summary) Culprit() string {
	c := s.Report.Crash.Culprit
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s (%s:%d)", clean(c.Function), clean(c.File), c.Line)
}

// Line is the summary on one line of at most limit bytes: the head, then
// " at " the culprit.
func (s Summary) Line(limit int) string {
	line := s.Head()
	if c := s.Culprit(); c != "" {
		line += " at " + c
	}
	if len(line) > limit {
		line = cutUTF8(line, limit-len(ellipsis)) + ellipsis
	}
	return line
}

// cutUTF8 is s cut to at most n bytes, at a rune boundary.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clean is s as valid UTF-8: a crash message is whatever bytes the program
// panicked with.
func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func orUnknown(s string) string {
	if s == "" {
		return "the service"
	}
	return s
}
