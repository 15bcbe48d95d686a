package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/prodwrap/prodwrap/internal/testreceiver"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

func TestSlackBlocksGolden(t *testing.T) {
	text, blocks := notify.SlackMessage(crashReport(), notify.SlackLink{})
	checkGolden(t, "slack-blocks.golden.json", map[string]any{"text": text, "blocks": blocks})
}

func TestSlackMessageStaysWithinLimits(t *testing.T) {
	r := crashReport()
	r.Crash.Message = strings.Repeat("é", 5000)
	for i := 0; i < 500; i++ {
		r.Crash.Goroutine.Frames = append(r.Crash.Goroutine.Frames, parse.Frame{Function: strings.Repeat("f", 300), File: "/x.go", Line: i})
	}
	r.LogTail = []string{strings.Repeat("l", 5000)}
	_, blocks := notify.SlackMessage(r, notify.SlackLink{})
	if len(blocks) > 50 {
		t.Errorf("%d blocks", len(blocks))
	}
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && len(s.Text.Text) > 3000 {
			t.Errorf("%s text of %d bytes", b.BlockType(), len(s.Text.Text))
		}
	}
}

// TestSlackPostMessageThroughSlacktest posts with a bot token to slacktest's
// chat.postMessage and reads the message back from its RTM stream.
func TestSlackPostMessageThroughSlacktest(t *testing.T) {
	srv := testreceiver.StartSlack(t, nil)
	rtm := srv.GetTestRTMInstance()
	go rtm.ManageConnection()
	defer rtm.Disconnect()
	got := make(chan *slack.MessageEvent, 4)
	go func() {
		for ev := range rtm.IncomingEvents {
			if m, ok := ev.Data.(*slack.MessageEvent); ok {
				got <- m
				return
			}
		}
	}()
	// Wait for the RTM connection before posting.
	deadline := time.Now().Add(10 * time.Second)
	for rtm.GetInfo() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s, err := notify.NewSlack(notify.SlackOptions{Token: "xoxb-secret-token", Channel: "C123", APIURL: srv.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(context.Background(), crashReport()); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Channel != "C123" || !strings.Contains(m.Text, "api crashed on host-a: panic: runtime error") || len(m.Blocks.BlockSet) < 4 {
			t.Errorf("message channel %q text %q blocks %d", m.Channel, m.Text, len(m.Blocks.BlockSet))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message on the RTM stream")
	}
}

func TestSlackErrors(t *testing.T) {
	revoked := func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
	}
	srv := testreceiver.StartSlack(t, revoked)
	s, _ := notify.NewSlack(notify.SlackOptions{Token: "xoxb-revoked", Channel: "C1", APIURL: srv.GetAPIURL()})
	err := s.Notify(context.Background(), crashReport())
	if !notify.IsPermanent(err) || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("revoked token: %v, want a permanent error without the token", err)
	}

	srv2 := testreceiver.StartSlack(t, nil, http.StatusTooManyRequests)
	s2, _ := notify.NewSlack(notify.SlackOptions{WebhookURL: srv2.WebhookURL()})
	sp, _ := notify.OpenSpool(t.TempDir())
	clock := newFakeClock()
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{s2}, Deadline: 10 * time.Second, Clock: clock}
	out, err := d.Deliver(context.Background(), crashReport())
	if err != nil || !out.Complete() {
		t.Fatalf("after a 429: %v %+v", err, out.Failed)
	}
	if clock.Slept() < time.Second {
		t.Errorf("Retry-After: 1 was not obeyed (delivered after %v)", clock.Slept())
	}
	if n := len(srv2.WebhookMessages()); n != 1 {
		t.Errorf("webhook got %d messages, want 1", n)
	}
	for _, bad := range []notify.SlackOptions{{}, {Token: "x"}, {WebhookURL: "ftp://x"}, {WebhookURL: "https://x/y", Token: "t", Channel: "c"}} {
		if _, err := notify.NewSlack(bad); err == nil {
			t.Errorf("NewSlack(%+v) accepted", bad)
		}
	}
}

// TestFloodSummaryOutlivesAFailedPost: a summary whose post fails when the
// window closes (Slack answers 500) is kept and posted by the next flush;
// one Slack refuses for good (403) is dropped, not retried forever.
func TestFloodSummaryOutlivesAFailedPost(t *testing.T) {
	for _, tt := range []struct {
		status    int
		summaries int
	}{
		{http.StatusInternalServerError, 1},
		{http.StatusForbidden, 0},
	} {
		dir := t.TempDir()
		window := 200 * time.Millisecond
		clock := newFakeClock()
		flood := &notify.Flood{Dir: dir, Window: window, Clock: clock}
		loop := testreceiver.StartSlack(t, nil)
		sl, _ := notify.NewSlack(notify.SlackOptions{WebhookURL: loop.WebhookURL(), Flood: flood})
		for range 3 {
			if err := sl.Notify(context.Background(), crashReport()); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(loop.WebhookMessages()); n != 1 {
			t.Fatalf("%d messages in the crash loop, want 1", n)
		}
		clock.Advance(window + 50*time.Millisecond)
		// The window closed while Slack fails with tt.status once.
		later := testreceiver.StartSlack(t, nil, tt.status)
		sl2, _ := notify.NewSlack(notify.SlackOptions{WebhookURL: later.WebhookURL(), Flood: flood})
		if err := sl2.FlushSummaries(context.Background()); err == nil {
			t.Fatalf("HTTP %d: the failed summary post was not said", tt.status)
		}
		if err := sl2.FlushSummaries(context.Background()); err != nil {
			t.Fatalf("HTTP %d: second flush: %v", tt.status, err)
		}
		msgs := later.WebhookMessages()
		if len(msgs) != tt.summaries || (tt.summaries == 1 && !strings.Contains(msgs[0].Text, "crashed 3 times")) {
			t.Errorf("HTTP %d then 200: %d summaries %v, want %d", tt.status, len(msgs), msgs, tt.summaries)
		}
		if err := sl2.FlushSummaries(context.Background()); err != nil || len(later.WebhookMessages()) != tt.summaries {
			t.Errorf("HTTP %d: a third flush posted again (%v)", tt.status, err)
		}
	}
}

// TestCrashLoopFloodControl: 50 identical crashes give one Slack message
// and one summary, and 50 Sentry events.
func TestCrashLoopFloodControl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the npm Sentry receiver")
	}
	t.Parallel() // the receiver takes a second to start
	srv := testreceiver.StartSlack(t, nil)
	sentryRcv := testreceiver.StartSentry(t)
	spoolDir := t.TempDir()
	sp, _ := notify.OpenSpool(spoolDir)
	window := 3 * time.Second
	clock := newFakeClock()
	sl, _ := notify.NewSlack(notify.SlackOptions{WebhookURL: srv.WebhookURL(), Flood: &notify.Flood{Dir: spoolDir, Window: window, Clock: clock}})
	se, _ := notify.NewSentry(notify.SentryOptions{DSN: sentryRcv.DSN()})
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{sl, se}, Deadline: 10 * time.Second, Clock: clock}
	for i := 0; i < 50; i++ {
		r := crashReport()
		r.ID = strings.Replace(r.ID, "5b8f", "%04d", 1)
		r.ID = r.ID[:4] + string(rune('a'+i%26)) + r.ID[5:] + "-" + string(rune('a'+i/26))
		if out, err := d.Deliver(context.Background(), r); err != nil || !out.Complete() {
			t.Fatalf("crash %d: %v %+v", i, err, out)
		}
	}
	if n := len(srv.WebhookMessages()); n != 1 {
		t.Fatalf("Slack got %d messages during the crash loop, want 1", n)
	}
	clock.Advance(window + 100*time.Millisecond)
	if _, err := d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WebhookMessages()
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "api crashed 50 times in 3s on host-a") {
		t.Errorf("Slack messages: %d, last %q; want 2 ending in the summary", len(msgs), msgs[len(msgs)-1].Text)
	}
	if n := len(sentryRcv.Envelopes(50, 10*time.Second)); n != 50 {
		t.Errorf("Sentry got %d events, want 50", n)
	}
}

// TestSlackWireFormat: what the sink puts on the wire, which slacktest does
// not check — chat.postMessage as a form with the token in the
// Authorization header only, and the webhook as JSON with text and blocks.
func TestSlackWireFormat(t *testing.T) {
	srv, got := recorder(t, `{"ok":true}`)
	s, err := notify.NewSlack(notify.SlackOptions{Token: "xoxb-wire-token", Channel: "C9", APIURL: srv.URL + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(context.Background(), crashReport()); err != nil {
		t.Fatal(err)
	}
	r := <-got
	form, err := url.ParseQuery(string(r.body))
	auth, ctype := r.header.Get("Authorization"), r.header.Get("Content-Type")
	// slack-go sends the token as the form's token field (Slack takes it
	// there or in Authorization), never in the URL.
	if r.path != "/api/chat.postMessage" || form.Get("token") != "xoxb-wire-token" || ctype != "application/x-www-form-urlencoded" || err != nil {
		t.Fatalf("request %s auth %q token %q type %q (%v)", r.path, auth, form.Get("token"), ctype, err)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(form.Get("blocks")), &blocks); err != nil || len(blocks) < 4 || blocks[0]["type"] != "header" {
		t.Errorf("blocks %q: %v", form.Get("blocks"), err)
	}
	if form.Get("channel") != "C9" || !strings.HasPrefix(form.Get("text"), "api crashed on host-a") {
		t.Errorf("form %v", form)
	}

	hook, err := notify.NewSlack(notify.SlackOptions{WebhookURL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if err := hook.Notify(context.Background(), crashReport()); err != nil {
		t.Fatal(err)
	}
	r = <-got
	var msg struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	auth, ctype = r.header.Get("Authorization"), r.header.Get("Content-Type")
	if err := json.Unmarshal(r.body, &msg); err != nil || r.path != "/hook" || ctype != "application/json" || auth != "" {
		t.Fatalf("webhook request %s type %q auth %q: %v", r.path, ctype, auth, err)
	}
	if !strings.HasPrefix(msg.Text, "api crashed on host-a") || len(msg.Blocks) < 4 {
		t.Errorf("webhook message %+v", msg)
	}
}

// When prodwrap gives up, the crash loop is over: the reports flood
// control held back are counted in a summary at once, not when the window
// passes at some later start; another service's window stays open.
func TestGivingUpClosesTheFloodWindow(t *testing.T) {
	clock := newFakeClock()
	flood := &notify.Flood{Dir: t.TempDir(), Window: time.Hour, Clock: clock}
	loop := testreceiver.StartSlack(t, nil)
	sl, _ := notify.NewSlack(notify.SlackOptions{WebhookURL: loop.WebhookURL(), Flood: flood})
	other := crashReport()
	other.Service = "other"
	for _, r := range []*report.Report{crashReport(), crashReport(), crashReport(), other, other} {
		if err := sl.Notify(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(loop.WebhookMessages()); n != 2 {
		t.Fatalf("%d messages in the crash loops, want 2 (one per service)", n)
	}
	if err := sl.CloseFloodWindows(context.Background(), crashReport().Service); err != nil {
		t.Fatal(err)
	}
	msgs := loop.WebhookMessages()
	if len(msgs) != 3 || !strings.Contains(msgs[2].Text, "crashed 3 times") {
		t.Fatalf("after giving up: %d messages %v, want a summary of 3 crashes", len(msgs), msgs)
	}
	if err := sl.CloseFloodWindows(context.Background(), crashReport().Service); err != nil || len(loop.WebhookMessages()) != 3 {
		t.Errorf("closing again posted again (%v)", err)
	}
	if err := sl.FlushSummaries(context.Background()); err != nil || len(loop.WebhookMessages()) != 3 {
		t.Errorf("the other service's open window was summarized (%v)", err)
	}
}

// TestSlackMessageReadsAtAGlance: through a Dispatcher that delivers to
// Sentry first, the Slack message (slacktest's webhook) holds the
// environment, the last log line, the kind once, the goroutine count
// spelled right and a link to the Sentry event under web_url.
func TestSlackMessageReadsAtAGlance(t *testing.T) {
	sentrySrv, _ := recorder(t, `{"id":"x"}`)
	sn, err := notify.NewSentry(notify.SentryOptions{DSN: strings.Replace(sentrySrv.URL, "http://", "http://k@", 1) + "/1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := testreceiver.StartSlack(t, nil)
	sl, err := notify.NewSlack(notify.SlackOptions{WebhookURL: srv.WebhookURL(), SentryWebURL: "https://acme.sentry.io/issues/", Environment: "staging", Release: sn.Release})
	if err != nil {
		t.Fatal(err)
	}
	r := crashReport()
	r.Crash.Goroutines = 1
	r.Build.VCSRevision = "0123abc"
	r.LogTail = []string{"one", "two", "three", "four", "five", "six", "the last line"}
	sp, _ := notify.OpenSpool(t.TempDir())
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{sn, sl}, Deadline: 10 * time.Second}
	if out, err := d.Deliver(context.Background(), r); err != nil || !out.Complete() {
		t.Fatalf("Deliver: %v %+v", err, out)
	}
	msgs := srv.WebhookMessages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(msgs[0].Blocks)
	all := b.String()
	link := "https://acme.sentry.io/issues/?query=" + sn.Receipt(r)
	for _, want := range []string{"*Environment*\\nstaging", "*Release*\\n0123abc", "the last line", "three", link + "|Sentry event " + sn.Receipt(r), "· 1 goroutine ·", "*panic*: runtime error"} {
		if !strings.Contains(all, want) {
			t.Errorf("the message lacks %q:\n%s", want, all)
		}
	}
	if r.Environment != "production" || r.Release != "example.com/api@v1.2.3" {
		t.Errorf("the sink changed the report's environment or release to %q, %q", r.Environment, r.Release)
	}
	if strings.Contains(all, "two") || strings.Contains(all, "*Kind*") || strings.Count(all, "panic*") != 1 {
		t.Errorf("more than the last 5 log lines, or the kind twice:\n%s", all)
	}
}

// TestSlackRateLimitThroughSlackGo: chat.postMessage answers 429 with
// Retry-After; slack-go's *RateLimitedError becomes notify's 429 with
// that wait, which the Dispatcher obeys before it posts again.
func TestSlackRateLimitThroughSlackGo(t *testing.T) {
	var calls int
	limited := func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
	}
	srv := testreceiver.StartSlack(t, limited)
	s, err := notify.NewSlack(notify.SlackOptions{Token: "xoxb-limited", Channel: "C1", APIURL: srv.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Notify(context.Background(), crashReport())
	he, ok := errors.AsType[*notify.HTTPError](err)
	if !ok || he.Status != http.StatusTooManyRequests || he.RetryAfter != 3*time.Second || notify.IsPermanent(err) {
		t.Fatalf("first post: %v (%#v), want a 429 with a 3 s RetryAfter", err, he)
	}
	sp, _ := notify.OpenSpool(t.TempDir())
	clock := newFakeClock()
	calls = 0
	d := &notify.Dispatcher{Spool: sp, Sinks: []notify.Sink{s}, Deadline: 10 * time.Second, Clock: clock}
	if out, err := d.Deliver(context.Background(), crashReport()); err != nil || !out.Complete() {
		t.Fatalf("Deliver: %v %+v", err, out.Failed)
	}
	if clock.Slept() < 3*time.Second || calls != 2 {
		t.Errorf("slept %v over %d calls, want the 3 s Slack asked for and one more post", clock.Slept(), calls)
	}
}
