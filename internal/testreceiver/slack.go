package testreceiver

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// webhookPath is the incoming-webhook route added to slacktest, which has
// none of its own.
const webhookPath = "/services/T000/B000/XXXX"

// Slack is slack-go's slacktest server with an incoming-webhook route that
// records what it is posted. Its first webhook answers can be scripted.
type Slack struct {
	*slacktest.Server

	mu     sync.Mutex
	bodies []slack.WebhookMessage
	script []int
}

// StartSlack starts the server for the test. postMessage, when not nil,
// replaces slacktest's chat.postMessage; script lists HTTP statuses the
// webhook answers first (429 comes with Retry-After: 1).
func StartSlack(t testing.TB, postMessage http.HandlerFunc, script ...int) *Slack {
	t.Helper()
	s := &Slack{script: script}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle(webhookPath, s.webhook)
		if postMessage != nil {
			c.Handle("/chat.postMessage", postMessage)
		}
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// WebhookURL is the incoming webhook's URL.
func (s *Slack) WebhookURL() string { return strings.TrimSuffix(s.GetAPIURL(), "/") + webhookPath }

// WebhookMessages returns what the webhook accepted, in order.
func (s *Slack) WebhookMessages() []slack.WebhookMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slack.WebhookMessage(nil), s.bodies...)
}

func (s *Slack) webhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) > 0 {
		code := s.script[0]
		s.script = s.script[1:]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var m slack.WebhookMessage
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.bodies = append(s.bodies, m)
	io.WriteString(w, "ok")
}
