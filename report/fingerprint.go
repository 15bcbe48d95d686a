package report

import (
	"regexp"
	"strings"
	"sync"

	"github.com/prodwrap/prodwrap/parse"
)

// fingerprintFrames is how many in_app functions the fingerprint names.
const fingerprintFrames = 3

// normalizers are compiled when the first message is normalized, not at
// every start of prodwrap: most runs never report.
var normalizers = sync.OnceValue(func() []normalizer {
	return []normalizer{
		{regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`), "<uuid>"},
		{regexp.MustCompile(`0x[0-9a-fA-F]+`), "<addr>"},
		{regexp.MustCompile(`/tmp/[^\s:'"]+`), "<tmp>"},
		{regexp.MustCompile(`\b[0-9]+(\.[0-9]+)?(ns|µs|us|ms|s|m|h)\b`), "<duration>"},
		{regexp.MustCompile(`[0-9]+`), "<n>"},
	}
})

type normalizer struct {
	re   *regexp.Regexp
	with string
}

// NormalizeMessage replaces what differs between two occurrences of the same
// bug — addresses, numbers, ids, durations, temporary paths — with
// placeholders.
func NormalizeMessage(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 && strings.HasPrefix(s, "test timed out") {
		s = s[:i]
	}
	for _, n := range normalizers() {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// Fingerprint groups reports of the same bug: kind, normalized message and
// up to three in_app functions from the culprit outwards (falling back to
// the culprit, origin or top frame). For crashes without a dump it is kind
// and the exit code or signal.
func Fingerprint(c *parse.Crash) []string {
	if c == nil {
		return []string{"unknown"}
	}
	fp := []string{string(c.Kind), NormalizeMessage(c.Message)}
	if c.Goroutine == nil {
		return fp
	}
	frames := c.Goroutine.Frames
	start := 0
	if c.Culprit != nil {
		for i, f := range frames {
			if f.Function == c.Culprit.Function && f.Line == c.Culprit.Line {
				start = i
				break
			}
		}
	}
	n := 0
	for _, f := range frames[start:] {
		if f.InApp && n < fingerprintFrames {
			fp = append(fp, f.Function)
			n++
		}
	}
	if n == 0 {
		for _, r := range []*parse.FrameRef{c.Culprit, c.Origin, c.TopFrame} {
			if r != nil {
				fp = append(fp, r.Function)
				break
			}
		}
	}
	return fp
}
