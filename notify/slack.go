package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prodwrap/prodwrap/report"
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
	// Client is the HTTP client; nil means one with a 10 s timeout. The
	// sink uses a copy that never follows a redirect.
	Client *http.Client
	// Flood, when set, posts one message per fingerprint and window and
	// then a summary (see Flood).
	Flood *Flood
}

// Slack posts a Block Kit message per report, to an incoming webhook or
// with the Web API's chat.postMessage. It speaks both itself rather than
// through slack-go: two posts and three block types did not justify
// linking the library and its initialisation, paid at every start of
// every wrapped service (~0.1 ms beside net/http); the tests talk to
// slack-go's own slacktest server.
type Slack struct {
	opts   SlackOptions
	client *http.Client
}

// SlackBlock is a Block Kit block: a header (Text), a section (Text or
// Fields) or a context line (Elements).
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Fields   []*SlackText `json:"fields,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object, plain_text or mrkdwn.
type SlackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func slackPlain(s string, n int) *SlackText {
	return &SlackText{Type: "plain_text", Text: cut(s, n), Emoji: true}
}

func slackMarkdown(s string) *SlackText {
	return &SlackText{Type: "mrkdwn", Text: cut(s, slackMaxText)}
}

func slackSection(text *SlackText) SlackBlock { return SlackBlock{Type: "section", Text: text} }

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
	return &Slack{opts: opts, client: c}, nil
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
	text, blocks := SlackMessage(r, ReceiptsFrom(ctx)["sentry"])
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
func (s *Slack) post(ctx context.Context, text string, blocks []SlackBlock) error {
	blocksJSON, err := json.Marshal(blocks)
	if err != nil {
		return fmt.Errorf("slack: encode blocks: %w: %w", err, ErrPermanent)
	}
	if s.opts.Token == "" {
		body, _ := json.Marshal(struct {
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks"`
		}{text, blocksJSON})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("slack: build request: %w", ErrPermanent)
		}
		req.Header.Set("Content-Type", "application/json")
		return do(s.client, req, "slack")
	}
	api := s.opts.APIURL
	if api == "" {
		api = "https://slack.com/api/"
	}
	form := url.Values{"channel": {s.opts.Channel}, "text": {text}, "blocks": {string(blocksJSON)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"chat.postMessage", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("slack: build request: %w", ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	answer, err := send(s.client, req, "slack")
	if err != nil {
		return err
	}
	return slackAnswer(answer)
}

// slackAnswer reads the Web API's answer, {"ok":false,"error":"..."} on
// failure: errors that no retry fixes are permanent.
func slackAnswer(body []byte) error {
	var a struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("slack: unreadable answer: %w", err)
	}
	if a.OK {
		return nil
	}
	switch a.Error {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "channel_not_found",
		"not_in_channel", "is_archived", "missing_scope", "invalid_blocks", "msg_too_long", "no_permission":
		return fmt.Errorf("slack: %s: %w", a.Error, ErrPermanent)
	}
	return fmt.Errorf("slack: %s", a.Error)
}

// SlackMessage builds the message of a report: a plain-text fallback and
// Block Kit blocks (header, fields, culprit, the crashing goroutine's top
// frames in a code block, a context line), within Slack's limits.
func SlackMessage(r *report.Report, sentryEventID string) (string, []SlackBlock) {
	c := r.Crash
	title := fmt.Sprintf("%s crashed on %s", orUnknown(r.Service), orUnknown(r.Host.Hostname))
	if g := r.GaveUp; g != nil {
		title = fmt.Sprintf("prodwrap gave up restarting %s on %s after %d restarts", orUnknown(r.Service), orUnknown(r.Host.Hostname), g.Restarts)
	}
	text := fmt.Sprintf("%s: %s: %s", title, c.Kind, firstLine(c.Message))
	md := slackMarkdown
	exit := fmt.Sprintf("%d", r.Exit.Code)
	if r.Exit.Signal != nil {
		exit += " (" + *r.Exit.Signal + ")"
	}
	blocks := []SlackBlock{
		{Type: "header", Text: slackPlain(":rotating_light: "+title, slackMaxHeader)},
		slackSection(md("*" + string(c.Kind) + "*: " + escape(c.Message))),
		{Type: "section", Fields: []*SlackText{
			md("*Kind*\n" + string(c.Kind)),
			md("*Exit*\n" + exit),
			md("*Release*\n" + escape(orUnknown(r.Release))),
			md("*Time*\n" + r.Time.UTC().Format(time.RFC3339)),
		}},
	}
	if c.Culprit != nil {
		blocks = append(blocks, slackSection(md(fmt.Sprintf("*Culprit* `%s:%d`\n`%s`", c.Culprit.File, c.Culprit.Line, c.Culprit.Function))))
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
		blocks = append(blocks, slackSection(md("```"+code+"```")))
	}
	ctx := fmt.Sprintf("report %s · %d goroutines", r.ID, c.Goroutines)
	if sentryEventID != "" {
		ctx += " · Sentry event " + sentryEventID
	}
	if r.Restart > 0 {
		ctx += fmt.Sprintf(" · restart %d", r.Restart)
	}
	blocks = append(blocks, SlackBlock{Type: "context", Elements: []*SlackText{md(ctx)}})
	if len(blocks) > slackMaxBlocks {
		blocks = blocks[:slackMaxBlocks]
	}
	return text, blocks
}

// SlackSummary is the message that closes a flood window.
func SlackSummary(service, host string, count int, window time.Duration, sample *report.Report) (string, []SlackBlock) {
	text := fmt.Sprintf("%s crashed %d times in %s on %s (%s: %s)", orUnknown(service), count, window.Round(time.Second), orUnknown(host), sample.Crash.Kind, firstLine(sample.Crash.Message))
	return text, []SlackBlock{slackSection(slackMarkdown(escape(text)))}
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
