package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// Slack's limits on a message (api.slack.com/reference/block-kit).
const (
	slackMaxText   = 3000 // characters of a section's text
	slackMaxHeader = 150  // characters of a header
	slackMaxBlocks = 50
	slackFrames    = 8 // in-app frames of the crashing goroutine shown
	slackLogLines  = 5 // last log lines shown
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
	// Environment, when set, is shown instead of the report's, as the
	// Sentry event shows it (SENTRY_ENVIRONMENT, [sentry] environment).
	Environment string
	// Release, when set, names the release shown: the Sentry sink's
	// (Sentry.Release), so that the message and the event agree. nil shows
	// the report's.
	Release func(*report.Report) string
	// SentryWebURL is the Sentry organization's issues URL
	// (https://ORG.sentry.io/issues/); when set, the message links the
	// report's Sentry event there. "" names the event id only.
	SentryWebURL string
	// Client is the HTTP client; nil means one with a 10 s timeout. The
	// sink uses a copy that never follows a redirect.
	Client *http.Client
	// Flood, when set, posts one message per fingerprint and window and
	// then a summary (see Flood).
	Flood *Flood
}

// Slack posts a Block Kit message per report, to an incoming webhook
// (slack.PostWebhookCustomHTTPContext) or with the Web API's
// chat.postMessage (slack.Client.PostMessageContext), both through
// prodwrap's HTTP client, which never follows a redirect. slack-go's
// errors are returned as notify's: a rate limit (*slack.RateLimitedError)
// as an *HTTPError 429 with its RetryAfter, an HTTP status as an
// *HTTPError, an error that no retry fixes (a revoked token) as permanent.
type Slack struct {
	opts   SlackOptions
	client *http.Client
	api    *slack.Client // nil for a webhook
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
	c := httpClient(opts.Client)
	s := &Slack{opts: opts, client: c}
	if hasToken {
		api := opts.APIURL
		if api == "" {
			api = slack.APIURL
		}
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		s.api = slack.New(opts.Token, slack.OptionHTTPClient(c), slack.OptionAPIURL(api))
	}
	return s, nil
}

func (s *Slack) endpoint() string {
	return s.opts.WebhookURL + " " + s.opts.APIURL + " " + s.opts.Token + " " + s.opts.Channel
}

// Name is "slack".
func (s *Slack) Name() string { return "slack" }

// Notify posts the report's message, unless flood control holds it back
// (then it is counted, and acknowledged). Flood control failing (its
// state cannot be written, a summary cannot be posted) does not hold the
// message back: a repeat beats a loss. Its error is returned only when the
// message was not posted either.
func (s *Slack) Notify(ctx context.Context, r *report.Report) error {
	var floodErr error
	if s.opts.Flood != nil {
		var post bool
		post, floodErr = s.opts.Flood.admit(ctx, r, s)
		if !post {
			return floodErr
		}
	}
	env, rel := r.Environment, r.Release
	if s.opts.Environment != "" {
		env = s.opts.Environment
	}
	if s.opts.Release != nil {
		if v := s.opts.Release(r); v != "" {
			rel = v
		}
	}
	if env != r.Environment || rel != r.Release {
		rc := *r // the sink never changes the report
		rc.Environment, rc.Release = env, rel
		r = &rc
	}
	text, blocks := SlackMessage(r, SlackLink{EventID: ReceiptsFrom(ctx)["sentry"], WebURL: s.opts.SentryWebURL})
	if err := s.post(ctx, text, blocks); err != nil {
		if floodErr != nil {
			return fmt.Errorf("%w (and flood control: %v)", err, floodErr)
		}
		return err
	}
	return nil
}

// FlushSummaries posts the summaries of flood windows that have passed.
func (s *Slack) FlushSummaries(ctx context.Context) error {
	if s.opts.Flood == nil {
		return nil
	}
	return s.opts.Flood.flushSummaries(ctx, s)
}

// CloseFloodWindows posts now the flood summaries of service's open
// windows: prodwrap gave up restarting it (see Flood).
func (s *Slack) CloseFloodWindows(ctx context.Context, service string) error {
	if s.opts.Flood == nil {
		return nil
	}
	return s.opts.Flood.closeWindows(ctx, s, service)
}

func (s *Slack) postSummary(ctx context.Context, service, host string, count int, window time.Duration, sample *report.Report) error {
	text, blocks := SlackSummary(service, host, count, window, sample)
	return s.post(ctx, text, blocks)
}

// post sends a message: to the webhook, or with chat.postMessage.
func (s *Slack) post(ctx context.Context, text string, blocks []slack.Block) error {
	var err error
	secrets := []string{s.opts.WebhookURL, s.opts.Token}
	if u, perr := url.Parse(s.opts.WebhookURL); perr == nil && s.opts.WebhookURL != "" {
		secrets = append(secrets, u.Path, u.Host+u.Path)
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 6 {
				secrets = append(secrets, seg)
			}
		}
	}
	if s.api == nil {
		msg := &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
		err = slack.PostWebhookCustomHTTPContext(ctx, s.opts.WebhookURL, s.client, msg)
	} else {
		_, _, err = s.api.PostMessageContext(ctx, s.opts.Channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	}
	if err == nil {
		return nil
	}
	return slackError(err, secrets)
}

// slackPermanent are the Web API's errors that no retry fixes.
var slackPermanent = []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "channel_not_found",
	"not_in_channel", "is_archived", "missing_scope", "invalid_blocks", "msg_too_long", "no_permission", "invalid_payload",
	"no_service", "no_service_id", "no_team", "team_disabled", "action_prohibited", "posting_to_general_channel_denied", "no_text", "too_many_attachments"}

// slackError maps slack-go's errors to notify's, with the sink's
// secrets (the webhook URL, the token) masked in their text.
func slackError(err error, secrets []string) error {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &HTTPError{Sink: "slack", Status: http.StatusTooManyRequests, RetryAfter: rl.RetryAfter}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return &HTTPError{Sink: "slack", Status: sc.Code}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		if slices.Contains(slackPermanent, se.Err) {
			return fmt.Errorf("slack: %s: %w", se.Err, ErrPermanent)
		}
		return fmt.Errorf("slack: %s", se.Err)
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return maskError(scrubURLError("slack", err), secrets)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("slack: %w", err)
	}
	return maskError(fmt.Errorf("slack: %w", err), secrets)
}

// SlackLink is how a message names the report's Sentry event.
type SlackLink struct {
	// EventID is the event's id, "" when Sentry did not take the report.
	EventID string
	// WebURL is the organization's issues URL; "" shows the id alone.
	WebURL string
}

// URL is the link to the event: WebURL searched for the event's id.
func (l SlackLink) URL() string {
	if l.EventID == "" || l.WebURL == "" {
		return ""
	}
	u, err := url.Parse(l.WebURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	q := u.Query()
	q.Set("query", l.EventID)
	u.RawQuery = q.Encode()
	return u.String()
}

func slackPlain(s string, n int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, cut(s, n), true, false)
}

func slackMarkdown(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, cut(s, slackMaxText), false, false)
}

func slackSection(text *slack.TextBlockObject) slack.Block {
	return slack.NewSectionBlock(text, nil, nil)
}

// codeBlock is lines in a mrkdwn code block, under title, within a
// section's limit.
func codeBlock(title string, lines []string) *slack.TextBlockObject {
	body := strings.ReplaceAll(strings.Join(lines, "\n"), "```", "`\u200b``")
	room := slackMaxText - len(title) - len("\n``````")
	return slackMarkdown(title + "\n```" + cut(escape(body), room) + "```")
}

// SlackMessage builds the message of a report: a plain-text fallback and
// Block Kit blocks — the title (service and host), the kind and message,
// the environment, release, exit, restarts and time, the culprit
// file:line, the crashing goroutine's top in-app frames, the last log
// lines, and a context line with the report id, the goroutine count and the
// Sentry event (a link when its web URL is known) — within Slack's limits.
func SlackMessage(r *report.Report, link SlackLink) (string, []slack.Block) {
	c := r.Crash
	title := fmt.Sprintf("%s crashed on %s", orUnknown(r.Service), orUnknown(r.Host.Hostname))
	if g := r.GaveUp; g != nil {
		title = fmt.Sprintf("prodwrap gave up restarting %s on %s after %d restarts", orUnknown(r.Service), orUnknown(r.Host.Hostname), g.Restarts)
	}
	text := fmt.Sprintf("%s: %s: %s", title, c.Kind, firstLine(c.Headline()))
	md := slackMarkdown
	exit := fmt.Sprintf("%d", r.Exit.Code)
	if r.Exit.Signal != nil {
		exit += " (" + *r.Exit.Signal + ")"
	}
	fields := []*slack.TextBlockObject{
		md("*Service*\n" + escape(orUnknown(r.Service))),
		md("*Environment*\n" + escape(orUnknown(r.Environment))),
		md("*Host*\n" + escape(orUnknown(r.Host.Hostname))),
		md("*Release*\n" + escape(orUnknown(r.Release))),
		md("*Exit*\n" + exit),
		md("*Time*\n" + r.Time.UTC().Format(time.RFC3339)),
	}
	if r.Restart > 0 {
		fields = append(fields, md(fmt.Sprintf("*Restarts*\n%d", r.Restart)))
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slackPlain(":rotating_light: "+title, slackMaxHeader)),
		slackSection(md("*" + string(c.Kind) + "*: " + escape(c.Headline()))),
		slack.NewSectionBlock(nil, fields, nil),
	}
	if c.Culprit != nil {
		blocks = append(blocks, slackSection(md(fmt.Sprintf("*Culprit* `%s:%d`\n`%s`", escape(c.Culprit.File), c.Culprit.Line, escape(c.Culprit.Function)))))
	}
	if g := c.Goroutine; g != nil && len(g.Frames) > 0 {
		frames := make([]parse.Frame, 0, len(g.Frames))
		for _, f := range g.Frames {
			if f.InApp {
				frames = append(frames, f)
			}
		}
		what := "in-app frames"
		if len(frames) == 0 {
			frames, what = g.Frames, "frames"
		}
		var lines []string
		for i, f := range frames {
			if i == slackFrames {
				lines = append(lines, fmt.Sprintf("... %d more", len(frames)-i))
				break
			}
			lines = append(lines, f.Function, fmt.Sprintf("    %s:%d", f.File, f.Line))
		}
		blocks = append(blocks, slackSection(codeBlock(fmt.Sprintf("*Top %s* of goroutine %d [%s]", what, g.ID, escape(g.State)), lines)))
	}
	if n := len(r.LogTail); n > 0 {
		blocks = append(blocks, slackSection(codeBlock("*Last log lines*", r.LogTail[max(0, n-slackLogLines):])))
	}
	ctx := fmt.Sprintf("report %s · %s", r.ID, goroutines(c.Goroutines))
	if link.EventID != "" {
		if u := link.URL(); u != "" {
			ctx += fmt.Sprintf(" · <%s|Sentry event %s>", u, link.EventID)
		} else {
			ctx += " · Sentry event " + link.EventID
		}
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
func SlackSummary(service, host string, count int, window time.Duration, sample *report.Report) (string, []slack.Block) {
	text := fmt.Sprintf("%s crashed %d times in %s on %s (%s: %s)", orUnknown(service), count, window.Round(time.Second), orUnknown(host), sample.Crash.Kind, firstLine(sample.Crash.Headline()))
	return text, []slack.Block{slackSection(slackMarkdown(escape(text)))}
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
