package report

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Masked replaces a secret.
const Masked = "***"

// secretName matches flag and key names that hold secrets. It and userinfo
// are compiled on first use, not at every start of prodwrap.
var secretName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|dsn|auth|credential|cookie|session)`)
})

// userinfo matches URL user-info with a password.
var userinfo = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+):([^@\s]+)@`)
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

// MaskURLs masks the password of every URL's user-info in s.
func MaskURLs(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo().ReplaceAllString(s, "${1}:"+Masked+"@")
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
