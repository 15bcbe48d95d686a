package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/prodwrap/prodwrap/parse"
)

// Slack's limits on a message (api.slack.com/reference/block-kit).
const (
	slackMaxText   = 3000 // characters of a section's text
	slackMaxHeader = 150  // characters of a header
	slackMaxBlocks = 50
	slackFrames    = 12 // frames of the crashing goroutine shown
)

// SlackOptions configure the Slack sink: an incoming webhook, or a bot
// token and a channel.
type SlackOptions struct {
	// WebhookURL is an incoming webhook (a secret).
	WebhookURL string
	// Token (a secret) and Channel post with chat.postMessage.
	Token, Channel string
	// APIURL replaces https://slack.com/api/ (tests).
	APIURL string
	// Client is the HTTP client; nil means one with a 10 s timeout.
	Client *http.Client
	// Flood, when set, posts one message per fingerprint and window and
	// then a summary (see Flood).
	Flood *Flood
}

// Slack posts a Block Kit message per report.
type Slack struct {
	opts   SlackOptions
	client *http.Client
	api    *slack.Client
}

var _ Sink = (*Slack)(nil)

// NewSlack validates opts and returns the sink.
func NewSlack(opts SlackOptions) (*Slack, error) {
	hasHook, hasToken := opts.WebhookURL != "", opts.Token != ""
	switch {
	case hasHook == hasToken:
		return nil, errors.New("slack: set either a webhook URL or a token and a channel")
	case hasToken && opts.Channel == "":
		return nil, errors.New("slack: a token needs a channel")
	case hasHook:
		u, err := url.Parse(opts.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("slack: the webhook URL must be an absolute http or https URL")
		}
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Slack{opts: opts, client: c}
	if hasToken {
		o := []slack.Option{slack.OptionHTTPClient(c)}
		if opts.APIURL != "" {
			o = append(o, slack.OptionAPIURL(opts.APIURL))
		}
		s.api = slack.New(opts.Token, o...)
	}
	return s, nil
}

// Name is "slack".
func (s *Slack) Name() string { return "slack" }

// Notify posts the report's message, unless flood control holds it back
// (then it is counted, and acknowledged).
func (s *Slack) Notify(ctx context.Context, r *parse.Report) error {
	if s.opts.Flood != nil {
		post, err := s.opts.Flood.admit(ctx, r, s)
		if err != nil {
			return err
		}
		if !post {
			return nil
		}
	}
	text, blocks := SlackMessage(r)
	return s.post(ctx, text, blocks)
}

// FlushSummaries posts the summaries of flood windows that have passed.
func (s *Slack) FlushSummaries(ctx context.Context) error {
	if s.opts.Flood == nil {
		return nil
	}
	return s.opts.Flood.flushSummaries(ctx, s)
}

func (s *Slack) postSummary(ctx context.Context, service, host string, count int, window time.Duration, sample *parse.Report) error {
	text, blocks := SlackSummary(service, host, count, window, sample)
	return s.post(ctx, text, blocks)
}

func (s *Slack) post(ctx context.Context, text string, blocks []slack.Block) error {
	var err error
	if s.api != nil {
		_, _, err = s.api.PostMessageContext(ctx, s.opts.Channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	} else {
		err = slack.PostWebhookCustomHTTPContext(ctx, s.opts.WebhookURL, s.client, &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}})
	}
	return slackError(err)
}

// slackError maps slack-go's errors to ours: rate limits carry their
// Retry-After, errors that no retry fixes are permanent, and no URL or
// token is left in the text.
func slackError(err error) error {
	if err == nil {
		return nil
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &HTTPError{Sink: "slack", Status: http.StatusTooManyRequests, RetryAfter: rl.RetryAfter}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return &HTTPError{Sink: "slack", Status: sc.Code}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		switch se.Err {
		case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "channel_not_found",
			"not_in_channel", "is_archived", "missing_scope", "invalid_blocks", "msg_too_long", "no_permission":
			return fmt.Errorf("slack: %s: %w", se.Err, ErrPermanent)
		}
		return fmt.Errorf("slack: %s", se.Err)
	}
	return scrubURLError("slack", err)
}

// SlackMessage builds the message of a report: a plain-text fallback and
// Block Kit blocks (header, fields, culprit, the crashing goroutine's top
// frames in a code block, a context line), within Slack's limits.
func SlackMessage(r *parse.Report) (string, []slack.Block) {
	c := r.Crash
	title := fmt.Sprintf("%s crashed on %s", orUnknown(r.Service), orUnknown(r.Host.Hostname))
	text := fmt.Sprintf("%s: %s: %s", title, c.Kind, firstLine(c.Message))
	plain := func(s string, n int) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, cut(s, n), true, false)
	}
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, cut(s, slackMaxText), false, false)
	}
	exit := fmt.Sprintf("%d", r.Exit.Code)
	if r.Exit.Signal != nil {
		exit += " (" + *r.Exit.Signal + ")"
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(":rotating_light: "+title, slackMaxHeader)),
		slack.NewSectionBlock(md("*"+string(c.Kind)+"*: "+escape(c.Message)), nil, nil),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			md("*Kind*\n" + string(c.Kind)),
			md("*Exit*\n" + exit),
			md("*Release*\n" + escape(orUnknown(r.Release))),
			md("*Time*\n" + r.Time.UTC().Format(time.RFC3339)),
		}, nil),
	}
	if c.Culprit != nil {
		blocks = append(blocks, slack.NewSectionBlock(md(fmt.Sprintf("*Culprit* `%s:%d`\n`%s`", c.Culprit.File, c.Culprit.Line, c.Culprit.Function)), nil, nil))
	}
	if g := c.Goroutine; g != nil && len(g.Frames) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "goroutine %d [%s]:\n", g.ID, g.State)
		for i, f := range g.Frames {
			if i == slackFrames {
				fmt.Fprintf(&b, "... %d more\n", len(g.Frames)-i)
				break
			}
			fmt.Fprintf(&b, "%s\n    %s:%d\n", f.Function, f.File, f.Line)
		}
		code := cut(b.String(), slackMaxText-8)
		blocks = append(blocks, slack.NewSectionBlock(md("```"+code+"```"), nil, nil))
	}
	ctx := fmt.Sprintf("report %s · %d goroutines", r.ID, c.Goroutines)
	if r.SentryEventID != "" {
		ctx += " · Sentry event " + r.SentryEventID
	}
	if r.Restart > 0 {
		ctx += fmt.Sprintf(" · restart %d", r.Restart)
	}
	blocks = append(blocks, slack.NewContextBlock("", md(ctx)))
	if len(blocks) > slackMaxBlocks {
		blocks = blocks[:slackMaxBlocks]
	}
	return text, blocks
}

// SlackSummary is the message that closes a flood window.
func SlackSummary(service, host string, count int, window time.Duration, sample *parse.Report) (string, []slack.Block) {
	text := fmt.Sprintf("%s crashed %d times in %s on %s (%s: %s)", orUnknown(service), count, window.Round(time.Second), orUnknown(host), sample.Crash.Kind, firstLine(sample.Crash.Message))
	return text, []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, cut(escape(text), slackMaxText), false, false), nil, nil)}
}

// escape makes text safe inside Slack mrkdwn.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
