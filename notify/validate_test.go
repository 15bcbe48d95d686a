package notify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/notify"
)

func TestValidateURL(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want error
	}{
		{"https://hooks.example.com/x", nil},
		{"http://127.0.0.1:8080/hook", nil},
		{"ftp://hooks.example.com/x", notify.ErrURL},
		{"hooks.example.com/x", notify.ErrURL},
		{"https:///path", notify.ErrURL},
		{"https://secret-token@ho st/", notify.ErrURL},
		{"", notify.ErrURL},
	} {
		err := notify.ValidateURL(tt.url)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("ValidateURL(%q) = %v, want %v", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("ValidateURL(%q) repeats the URL: %v", tt.url, err)
		}
	}
}

func TestValidateSlack(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts notify.SlackOptions
		want error
	}{
		{"webhook", notify.SlackOptions{WebhookURL: "https://hooks.slack.com/services/x"}, nil},
		{"token", notify.SlackOptions{Token: "xoxb-1", Channel: "C1"}, nil},
		{"both", notify.SlackOptions{WebhookURL: "https://hooks.slack.com/services/x", Token: "xoxb-1", Channel: "C1"}, notify.ErrSlackBoth},
		{"none", notify.SlackOptions{Channel: "C1"}, notify.ErrSlackNone},
		{"no channel", notify.SlackOptions{Token: "xoxb-1"}, notify.ErrSlackChannel},
		{"bad webhook", notify.SlackOptions{WebhookURL: "hooks.slack.com/x"}, notify.ErrURL},
		{"bad api url", notify.SlackOptions{Token: "xoxb-1", Channel: "C1", APIURL: "slack.local"}, notify.ErrURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.ValidateSlack(tt.opts)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("ValidateSlack = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidateWebhook(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    error
	}{
		{"no headers", nil, nil},
		{"authorization", map[string]string{"Authorization": "Bearer x", "X-Token": "a\tb"}, nil},
		{"space in name", map[string]string{"X Token": "x"}, notify.ErrHeader},
		{"empty name", map[string]string{"": "x"}, notify.ErrHeader},
		{"newline in value", map[string]string{"Authorization": "Bearer secret-value\r\nX-Evil: 1"}, notify.ErrHeader},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.ValidateWebhook(notify.WebhookOptions{URL: "https://hooks.example.com/x", Headers: tt.headers})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("ValidateWebhook = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret-value") {
				t.Errorf("the error repeats a header value: %v", err)
			}
		})
	}
	if err := notify.ValidateWebhook(notify.WebhookOptions{URL: "ftp://x"}); !errors.Is(err, notify.ErrURL) {
		t.Errorf("ftp URL: %v", err)
	}
}
