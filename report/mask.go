package report

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Masked replaces a secret.
const Masked = "***"

// secretName matches flag and key names that hold secrets. It is
// compiled on first use, not at every start of prodwrap.
var secretName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|dsn|auth|credential|cookie|session)`)
})

// MaskArgs returns args with secrets masked: the value of --name=value and
// name=value when name looks like a secret, the argument after a bare
// --name that does, and the password of URL user-info anywhere.
func MaskArgs(args []string) []string {
	out := make([]string, len(args))
	maskNext := false
	for i, a := range args {
		switch {
		case maskNext:
			out[i] = Masked
			maskNext = false
			continue
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			name := strings.TrimLeft(a, "-")
			maskNext = name != "" && secretName().MatchString(name)
			out[i] = a
			continue
		}
		if name, _, ok := strings.Cut(a, "="); ok && secretName().MatchString(strings.TrimLeft(name, "-")) {
			out[i] = name + "=" + Masked
			continue
		}
		out[i] = MaskURLs(a)
	}
	return out
}

// MaskURLs masks the password of every URL's user-info in s, whatever
// the scheme: postgres://app:***@db/x, redis://:***@cache:6379. The
// user-info is, as url.Parse reads it, what comes before the last "@" of
// the authority (which ends at "/", "?", "#" or a blank), so a password
// with a raw "@" or ":" is masked whole. A raw "/" in a password ends the
// authority for every URL parser; such a URL is not recognised.
func MaskURLs(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		authStart := i + len("://")
		if !isScheme(rest[:i]) {
			b.WriteString(rest[:authStart])
			rest = rest[authStart:]
			continue
		}
		auth := rest[authStart:]
		if end := strings.IndexAny(auth, "/?# \t\n\r\f\v"); end >= 0 {
			auth = auth[:end]
		}
		at := strings.LastIndexByte(auth, '@')
		colon := strings.IndexByte(auth, ':')
		if at < 0 || colon < 0 || colon > at {
			b.WriteString(rest[:authStart+len(auth)])
			rest = rest[authStart+len(auth):]
			continue
		}
		b.WriteString(rest[:authStart+colon+1])
		b.WriteString(Masked)
		rest = rest[authStart+at:]
	}
	b.WriteString(rest)
	return b.String()
}

// isScheme reports whether s ends in a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func isScheme(s string) bool {
	n := 0
	for n < len(s) {
		c := s[len(s)-1-n]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			break
		}
		n++
	}
	// The scheme is the run's longest suffix that starts with a letter.
	for ; n > 0; n-- {
		c := s[len(s)-n]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// RedactURL returns u with its user-info, path and query hidden: for error
// messages about endpoints whose URL itself is a secret (webhooks).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Masked
	}
	return u.Scheme + "://" + u.Host + "/" + Masked
}
