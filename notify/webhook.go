package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

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
	// Client is the HTTP client; nil means one with a 10 s timeout. The
	// sink uses a copy that never follows a redirect.
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
	c := httpClient(opts.Client)
	name := "webhook"
	if opts.Name != "" {
		name = "webhook:" + opts.Name
	}
	return &Webhook{name: name, url: opts.URL, headers: opts.Headers, client: c}, nil
}

func (w *Webhook) endpoint() string { return w.url }

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
