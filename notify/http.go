package notify

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// maxAnswer bounds what is read of a 2xx answer's body.
const maxAnswer = 64 << 10

// maxErrorBody bounds the start of an error answer's body kept in an
// HTTPError, after the request's secrets are masked.
const maxErrorBody = 256

// mask replaces a secret in what is logged.
const mask = "***"

// httpClient is c (or a client with a 10 s timeout), made never to follow
// a redirect: Go's client would re-send a POST as an empty GET, count the
// target's 200 as delivered, and hand the target the request's
// credentials. A 3xx is returned as it is, and send makes it a failure.
func httpClient(c *http.Client) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	} else {
		cc.Timeout = 10 * time.Second
	}
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// do sends req and turns a non-2xx answer into an *HTTPError.
func do(c *http.Client, req *http.Request, sink string) error {
	_, err := send(c, req, sink)
	return err
}

// send is do, returning the answer's body (its first 64 KiB) on a 2xx. It
// reads the rate limits of every answer (see noteLimits). Nothing it
// returns holds the request's secrets: its URL and token, its header
// values.
func send(c *http.Client, req *http.Request, sink string) ([]byte, error) {
	secrets := requestSecrets(req)
	resp, err := c.Do(req)
	if err != nil {
		return nil, maskError(scrubURLError(sink, err), secrets)
	}
	defer resp.Body.Close()
	noteLimits(req.Context(), resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if err != nil {
			return nil, maskError(scrubURLError(sink, err), secrets)
		}
		return body, nil
	}
	he := &HTTPError{Sink: sink, Status: resp.StatusCode, Body: errorBody(body, secrets)}
	if resp.StatusCode/100 == 3 {
		he.Body = ""
		he.Location = maskLocation(resp.Header.Get("Location"), req.URL, secrets)
	}
	he.RetryAfter = retryAfter(resp.Header, time.Now())
	if rl := sentryRateLimit(resp.Header.Get("X-Sentry-Rate-Limits")); rl > he.RetryAfter {
		he.RetryAfter = rl
	}
	return nil, he
}

// requestSecrets lists what of req must never be logged: the URL whole
// and in parts (path, its long segments, the query's values, the
// userinfo), and every header value but the few that are not secrets, with
// the tokens inside them ("Bearer x", "sentry_key=x").
func requestSecrets(req *http.Request) []string {
	var out []string
	add := func(s string, minLen int) {
		if len(s) >= minLen {
			out = append(out, s)
		}
	}
	u := req.URL
	add(u.String(), 1)
	if len(u.EscapedPath()) > 1 {
		add(u.Host+u.EscapedPath(), 1)
	}
	add(u.EscapedPath(), 2)
	add(u.Path, 2)
	add(u.RawQuery, 1)
	for _, seg := range strings.Split(u.Path, "/") {
		add(seg, 6)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v, 4)
		}
	}
	if u.User != nil {
		add(u.User.Username(), 4)
		if p, ok := u.User.Password(); ok {
			add(p, 1)
		}
	}
	for k, vs := range req.Header {
		switch k {
		case "Content-Type", "Content-Length", "User-Agent", "Accept":
			continue
		}
		for _, v := range vs {
			add(v, 4)
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == ';' }) {
				if _, after, ok := strings.Cut(f, "="); ok {
					f = after
				}
				add(f, 8)
			}
		}
	}
	// Longest first, so that a secret inside another is masked with it.
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return slices.Compact(out)
}

// errorBody is the start of an error answer for the log: its first
// maxErrorBody bytes, cut on a rune, with the request's secrets masked,
// and a secret cut in two by the end masked too.
func errorBody(body []byte, secrets []string) string {
	body = bytes.TrimSpace(body)
	more := ""
	if len(body) > maxErrorBody {
		n := maxErrorBody
		for n > 0 && !utf8.RuneStart(body[n]) {
			n--
		}
		body, more = body[:n], "…"
	}
	s := maskSecrets(strings.ToValidUTF8(string(body), "?"), secrets)
	for _, sec := range secrets {
		for _, form := range secretForms(sec) {
			for k := len(form) - 1; k >= 3; k-- {
				if strings.HasSuffix(s, form[:k]) {
					return s[:len(s)-k] + mask + more
				}
			}
		}
	}
	return s + more
}

// secretForms is a secret as a receiver may echo it: as it is,
// URL-escaped, escaped in a JSON string.
func secretForms(sec string) []string {
	js, _ := json.Marshal(sec)
	return []string{sec, url.QueryEscape(sec), url.PathEscape(sec), string(js[1 : len(js)-1])}
}

// maskSecrets replaces each secret in s, also as a receiver may echo it:
// URL-escaped, or escaped in a JSON string.
func maskSecrets(s string, secrets []string) string {
	for _, sec := range secrets {
		for _, form := range secretForms(sec) {
			if form != "" && strings.Contains(s, form) {
				s = strings.ReplaceAll(s, form, mask)
			}
		}
	}
	return s
}

// maskedError is an error whose text had secrets masked.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// maskError masks secrets in err's text, keeping what it wraps for
// errors.Is (a deadline, a refused connection).
func maskError(err error, secrets []string) error {
	msg := err.Error()
	if m := maskSecrets(msg, secrets); m != msg {
		return &maskedError{m, errors.Unwrap(err)}
	}
	return err
}

// maskLocation shows where a redirect pointed by scheme and host only:
// the path and query may carry the request's token.
func maskLocation(loc string, base *url.URL, secrets []string) string {
	if loc == "" {
		return ""
	}
	u, err := base.Parse(loc)
	if err != nil || u.Host == "" {
		return "(an unreadable Location)"
	}
	s := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		s += "/" + mask
	}
	return maskSecrets(s, secrets)
}
