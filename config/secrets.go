package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolveSecrets fills secrets from *_file keys and systemd credentials. A
// secret read through a file is placed, in errors, at the key that named
// the file; a lenient load goes on without it.
func (c *Config) resolveSecrets(env map[string]string, p *problems) error {
	creds := env["CREDENTIALS_DIRECTORY"]
	fromFile := func(secretKey, fileKey, path string, dst *Secret) error {
		v, err := readSecret(path)
		if err != nil {
			return p.add(c.errorAt(fileKey, err))
		}
		*dst = Secret(v)
		o := c.origins[fileKey]
		if o.name == "" {
			o.name = fileKey
		}
		c.setOrigin(secretKey, o)
		return nil
	}
	fromCredential := func(secretKey, name string, dst *Secret) bool {
		v, err := readSecret(filepath.Join(creds, name))
		if err != nil {
			return false
		}
		*dst = Secret(v)
		c.setOrigin(secretKey, origin{src: FromEnv, name: "$CREDENTIALS_DIRECTORY/" + name})
		return true
	}
	if c.Sentry.DSN == "" && c.Sentry.DSNFile != "" {
		if err := fromFile("sentry.dsn", "sentry.dsn_file", c.Sentry.DSNFile, &c.Sentry.DSN); err != nil {
			return err
		}
	}
	if c.Sentry.DSN == "" && creds != "" {
		fromCredential("sentry.dsn", "sentry-dsn", &c.Sentry.DSN)
	}
	if c.Slack.WebhookURL == "" && c.Slack.WebhookURLFile != "" {
		if err := fromFile("slack.webhook_url", "slack.webhook_url_file", c.Slack.WebhookURLFile, &c.Slack.WebhookURL); err != nil {
			return err
		}
	}
	if c.Slack.Token == "" && c.Slack.TokenFile != "" {
		if err := fromFile("slack.token", "slack.token_file", c.Slack.TokenFile, &c.Slack.Token); err != nil {
			return err
		}
	}
	if c.Slack.Token == "" && c.Slack.WebhookURL == "" && creds != "" {
		if !fromCredential("slack.token", "slack-token", &c.Slack.Token) {
			fromCredential("slack.webhook_url", "slack-webhook-url", &c.Slack.WebhookURL)
		}
	}
	var drop []int
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if w.URL == "" && w.URLFile != "" {
			key := fmt.Sprintf("webhook[%d]", i)
			before := len(p.list)
			if err := fromFile(key+".url", key+".url_file", w.URLFile, &w.URL); err != nil {
				return err
			}
			if len(p.list) > before {
				drop = append(drop, i) // no URL: the webhook is left out
			}
		}
	}
	c.dropWebhooks(drop)
	if len(c.Webhooks) == 0 && creds != "" {
		var u Secret
		if fromCredential("webhook[0].url", "webhook-url", &u) {
			c.Webhooks = append(c.Webhooks, Webhook{Name: "credential", URL: u})
		}
	}
	return nil
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}
