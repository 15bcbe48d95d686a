package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prodwrap/prodwrap/report"
)

// WebhookOptions configure a webhook sink.
type WebhookOptions struct {
	// Name tells webhooks apart in acknowledgements and logs; "" means the
	// position in the configuration, given by the caller.
	Name string
	// URL receives a POST of the report JSON. It is a secret.
	URL string
	// Headers are added to the request (Authorization...). Their values
	// are secrets.
	Headers map[string]string
	// Client is the HTTP client; nil means one with a 10 s timeout.
	Client *http.Client
}

// Webhook POSTs the report JSON to a URL.
type Webhook struct {
	name    string
	url     string
	headers map[string]string
	client  *http.Client
}

var _ Sink = (*Webhook)(nil)

// NewWebhook validates opts and returns the sink.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: the URL must be an absolute http or https URL")
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	name := "webhook"
	if opts.Name != "" {
		name = "webhook:" + opts.Name
	}
	return &Webhook{name: name, url: opts.URL, headers: opts.Headers, client: c}, nil
}

// Name is "webhook" or "webhook:<name>".
func (w *Webhook) Name() string { return w.name }

// Notify posts r.
func (w *Webhook) Notify(ctx context.Context, r *report.Report) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%s: encode report: %w: %w", w.name, err, ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", w.name, ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "prodwrap")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	return do(w.client, req, w.name)
}

// do sends req and turns a non-2xx answer into an *HTTPError.
func do(c *http.Client, req *http.Request, sink string) error {
	_, err := send(c, req, sink)
	return err
}

// maxAnswer bounds what is read of a 2xx answer's body.
const maxAnswer = 64 << 10

// send is do, returning the answer's body (its first 64 KiB) on a 2xx.
func send(c *http.Client, req *http.Request, sink string) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, scrubURLError(sink, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if err != nil {
			return nil, scrubURLError(sink, err)
		}
		return body, nil
	}
	head := body[:min(len(body), 512)]
	wait := retryAfter(resp.Header, time.Now())
	if rl := sentryRateLimit(resp.Header.Get("X-Sentry-Rate-Limits")); rl > wait {
		wait = rl
	}
	return nil, &HTTPError{Sink: sink, Status: resp.StatusCode, RetryAfter: wait, Body: string(bytes.TrimSpace(head))}
}
