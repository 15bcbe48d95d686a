package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The sinks' option rules, written once: the constructors call these, and
// so does configuration (config.Validate), so that a bad value is refused,
// naming its key, before prodwrap starts the child. No error repeats a URL,
// a token or a header value: they are secrets.
var (
	// ErrURL: a webhook, Slack webhook or Slack API URL that is not an
	// absolute http or https URL with a host.
	ErrURL = errors.New("invalid URL: want an absolute http:// or https:// URL")
	// ErrSlackBoth: a Slack sink given both a webhook URL and a token.
	ErrSlackBoth = errors.New("set either a Slack webhook URL or a token with a channel, not both")
	// ErrSlackNone: a Slack sink given neither.
	ErrSlackNone = errors.New("set a Slack webhook URL, or a token with a channel")
	// ErrSlackChannel: a Slack token without a channel.
	ErrSlackChannel = errors.New("a Slack token needs a channel (an id such as C0123456789 or a name)")
	// ErrHeader: a webhook header whose name is not an HTTP token or whose
	// value holds a control character (a newline would end the header).
	ErrHeader = errors.New("invalid header")
)

// ValidateURL checks a URL the sinks post to: absolute, http or https,
// with a host.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrURL
	}
	return nil
}

// ValidateSlack checks the Slack sink's options as NewSlack does: an
// incoming webhook URL, or a token and a channel; an APIURL, when set, is a
// URL too. The errors are ErrSlackBoth, ErrSlackNone, ErrSlackChannel and
// ErrURL.
func ValidateSlack(o SlackOptions) error {
	hasHook, hasToken := o.WebhookURL != "", o.Token != ""
	switch {
	case hasHook && hasToken:
		return ErrSlackBoth
	case !hasHook && !hasToken:
		return ErrSlackNone
	case hasToken && o.Channel == "":
		return ErrSlackChannel
	case hasHook:
		if err := ValidateURL(o.WebhookURL); err != nil {
			return err
		}
	}
	if o.APIURL != "" {
		return ValidateURL(o.APIURL)
	}
	return nil
}

// ValidateWebhook checks the webhook sink's options as NewWebhook does:
// the URL (ErrURL) and each header (ErrHeader, naming the header).
func ValidateWebhook(o WebhookOptions) error {
	if err := ValidateURL(o.URL); err != nil {
		return err
	}
	for name, value := range o.Headers {
		if err := ValidateHeader(name, value); err != nil {
			return err
		}
	}
	return nil
}

// ValidateHeader checks one webhook header: its name an HTTP token
// (RFC 9110, 5.6.2), its value free of control characters but tab.
func ValidateHeader(name, value string) error {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Errorf("%w name %q: want an HTTP field name such as Authorization or X-Token", ErrHeader, name)
	}
	if strings.IndexFunc(value, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) >= 0 {
		return fmt.Errorf("%w %s: the value holds a control character", ErrHeader, name)
	}
	return nil
}

func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
