// Package testreceiver starts the real receivers prodwrap's tests deliver
// to, on 127.0.0.1, and reads back what they got.
//
// The Sentry receiver is Sentry's local receiver from npm, the Spotlight
// sidecar (@spotlightjs/sidecar, pinned in node/package-lock.json), run
// standalone and bound to loopback by node/sentry-receiver.mjs. It accepts
// envelopes at /api/<project>/envelope/ as sentry.io does and streams what it
// got as server-sent events at /stream.
package testreceiver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var npmOnce sync.Once
var npmErr error

// nodeDir is the directory of the npm project.
func nodeDir() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "node")
}

// ensureNodeModules runs npm ci once when node_modules is missing, so a
// fresh clone works.
func ensureNodeModules() error {
	npmOnce.Do(func() {
		dir := nodeDir()
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@spotlightjs", "sidecar")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
		}
	})
	return npmErr
}

// Sentry is a running Sentry receiver.
type Sentry struct {
	URL string // http://127.0.0.1:PORT

	mu        sync.Mutex
	envelopes [][]byte
	times     []time.Time // when each envelope was streamed back
	cancel    context.CancelFunc
	done      chan struct{}
}

// DSN is a DSN that points at the receiver, project 1.
func (s *Sentry) DSN() string {
	return strings.Replace(s.URL, "http://", "http://publickey@", 1) + "/1"
}

// StartSentry starts the receiver for the test and stops it at cleanup.
// It fails the test when node or the package cannot be had.
func StartSentry(t testing.TB) *Sentry {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: %v (CI installs it; see .ci/run)", err)
	}
	if err := ensureNodeModules(); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return StartSentryOn(t, port)
}

// FreePort returns a loopback port nothing listens on now: a receiver that
// is down, to be started there later with StartSentryOn.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// DSNAt is the DSN of a receiver on port, project 1, whether it runs or not.
func DSNAt(port int) string { return fmt.Sprintf("http://publickey@127.0.0.1:%d/1", port) }

// StartSentryOn is StartSentry on a port of the caller's choosing.
func StartSentryOn(t testing.TB, port int) *Sentry {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: %v (CI installs it; see .ci/run)", err)
	}
	if err := ensureNodeModules(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "sentry-receiver.mjs", fmt.Sprint(port))
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), "SENTRY_DSN=", "SPOTLIGHT_CAPTURE=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &Sentry{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cancel: cancel, done: make(chan struct{})}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-s.done
		if t.Failed() {
			t.Logf("sentry receiver output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			close(s.done)
			t.Fatalf("sentry receiver did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := make(chan struct{})
	go s.stream(ctx, ready)
	<-ready
	return s
}

// stream reads /stream until ctx ends, keeping each envelope event.
func (s *Sentry) stream(ctx context.Context, ready chan<- struct{}) {
	defer close(s.done)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/stream?base64", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	close(ready)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimPrefix(line, "event:")
		case strings.HasPrefix(line, "data:") && strings.HasPrefix(event, "application/x-sentry-envelope"):
			b, err := decodeBase64(strings.TrimPrefix(line, "data:"))
			if err == nil {
				s.mu.Lock()
				s.envelopes = append(s.envelopes, b)
				s.times = append(s.times, time.Now())
				s.mu.Unlock()
			}
		}
	}
}

// Envelopes waits until the receiver holds at least n envelopes of events
// or timeout passes, and returns those it holds. Envelopes that carry only
// release-health items (session, sessions, check_in: see HealthItems) are
// left out, so that counting events does not depend on whether sessions
// are on.
func (s *Sentry) Envelopes(n int, timeout time.Duration) [][]byte {
	deadline := time.Now().Add(timeout)
	for {
		got, _ := s.split()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReceivedAt returns when each envelope of events was streamed back by
// the receiver, in order.
func (s *Sentry) ReceivedAt() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for i, env := range s.envelopes {
		if !healthOnly(env) {
			out = append(out, s.times[i])
		}
	}
	return out
}

// HealthEnvelopes waits until the receiver holds at least n envelopes
// that carry only release-health items, or timeout passes, and returns
// those it holds, in the order received.
func (s *Sentry) HealthEnvelopes(n int, timeout time.Duration) [][]byte {
	deadline := time.Now().Add(timeout)
	for {
		_, got := s.split()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HealthItems waits until the receiver got at least n items of the given
// type ("session", "sessions", "check_in"), in any envelope, or timeout
// passes, and returns those it got, in the order received.
func (s *Sentry) HealthItems(typ string, n int, timeout time.Duration) []Item {
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		all := append([][]byte(nil), s.envelopes...)
		s.mu.Unlock()
		var got []Item
		for _, env := range all {
			items, _ := ParseEnvelope(env)
			for _, it := range items {
				if it.Header["type"] == typ {
					got = append(got, it)
				}
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// split returns the envelopes of events and the release-health ones.
func (s *Sentry) split() (events, health [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, env := range s.envelopes {
		if healthOnly(env) {
			health = append(health, env)
		} else {
			events = append(events, env)
		}
	}
	return events, health
}

// healthOnly reports whether an envelope carries release-health items
// only.
func healthOnly(env []byte) bool {
	items, err := ParseEnvelope(env)
	if err != nil || len(items) == 0 {
		return false
	}
	for _, it := range items {
		switch it.Header["type"] {
		case "session", "sessions", "check_in":
		default:
			return false
		}
	}
	return true
}

// Item is one item of an envelope.
type Item struct {
	Header  map[string]any
	Payload []byte
}

// ParseEnvelope splits an envelope into its items.
func ParseEnvelope(b []byte) ([]Item, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, errors.New("envelope without header line")
	}
	rest := b[i+1:]
	var items []Item
	for len(bytes.TrimSpace(rest)) > 0 {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return nil, errors.New("item header without newline")
		}
		var h map[string]any
		if err := jsonUnmarshal(rest[:j], &h); err != nil {
			return nil, fmt.Errorf("item header: %w", err)
		}
		rest = rest[j+1:]
		n := len(rest)
		if l, ok := h["length"].(float64); ok {
			n = int(l)
		} else if k := bytes.IndexByte(rest, '\n'); k >= 0 {
			n = k
		}
		if n > len(rest) {
			return nil, errors.New("item longer than the envelope")
		}
		items = append(items, Item{Header: h, Payload: rest[:n]})
		rest = bytes.TrimPrefix(rest[n:], []byte{'\n'})
	}
	return items, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
