package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"
)

// Limits of the health queue.
const (
	// DefaultMaxHealthEntries bounds the updates the spool keeps for one
	// receiver (HealthOptions.MaxEntries): past it new ones are dropped,
	// logged, until the receiver takes what waits. Two updates a run: a
	// crash loop of 5000 restarts against a receiver that is down.
	DefaultMaxHealthEntries = 10000
	// maxHealthEntrySize bounds what is read of one update in the spool.
	maxHealthEntrySize = 64 << 10
	// maxPass bounds the updates one Flush pass reads and sends.
	maxPass = 1000
	// maxSessionItems is the most session items one envelope carries
	// (Relay's limit).
	maxSessionItems = 100
)

// The rate-limit categories of Sentry that the health updates count in.
const (
	categorySession = "session"
	categoryMonitor = "monitor"
)

// ErrHealthFull marks an update not spooled because the queue of its
// receiver holds DefaultMaxHealthEntries (HealthOptions.MaxEntries).
var ErrHealthFull = errors.New("notify: health queue full")

// HealthOptions configure a Health.
type HealthOptions struct {
	// DSN is the Sentry project's DSN, a secret. Required.
	DSN string
	// Spool keeps the updates until Sentry took them, under
	// <spool>/health/<receiver>/; nil keeps them in memory only.
	Spool *Spool
	// Client is the HTTP client; nil means one with a 10 s timeout. A copy
	// that never follows a redirect is used.
	Client *http.Client
	// Logger receives what went wrong; nil discards.
	Logger *slog.Logger
	// Clock is the time of backoffs and rate limits; nil is the real one.
	Clock Clock
	// MaxEntries bounds the updates kept; 0 means DefaultMaxHealthEntries.
	MaxEntries int
}

// Health delivers Sentry release-health sessions and Crons check-ins,
// durably: each update is written to the spool (a file of its own, fsynced)
// before it is sent, and removed when Sentry took it; what a flush could
// not send is sent by a later one, of this process or another sharing the
// spool (each update under its claim, a flock, as reports are). One Flush
// sends everything that waits in as few envelopes as it can: the updates
// of sessions, the runs that started and ended unseen by Sentry counted in
// one `sessions` item (a crash loop costs a request per flush, not two per
// restart), and each check-in in an envelope of its own, in order. Rate
// limits of the `session` and `monitor` categories are obeyed and kept in
// the spool's state beside the reports'.
//
// A Health is safe for use by several goroutines.
type Health struct {
	envelopeURL, publicKey string
	receiver               string // hash of the receiver: its directory and limit names
	spool                  *Spool
	dir                    string // "" when the updates are kept in memory
	client                 *http.Client
	logger                 *slog.Logger
	clock                  Clock
	maxEntries             int
	seq                    atomic.Uint64

	mu       sync.Mutex
	mem      []*healthEntry // without a spool
	limits   map[string]time.Time
	warnFull bool
}

// healthEntry is one update in the spool.
type healthEntry struct {
	Kind    string         `json:"kind"` // "session" or "check_in"
	Session *SessionUpdate `json:"session,omitempty"`
	CheckIn *CheckIn       `json:"check_in,omitempty"`

	path  string
	claim *os.File
}

// key is what orders the updates of one session or check-in.
func (e *healthEntry) key() string {
	if e.Session != nil {
		return e.Session.ID
	}
	if e.CheckIn != nil {
		return e.CheckIn.ID
	}
	return ""
}

// NewHealth validates the DSN and opens the queue of its receiver in the
// spool. Errors never repeat the DSN.
func NewHealth(o HealthOptions) (*Health, error) {
	dsn, err := sentry.NewDsn(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", errDSN)
	}
	h := &Health{
		envelopeURL: dsn.GetAPIURL().String(), publicKey: dsn.GetPublicKey(),
		spool: o.Spool, client: httpClient(o.Client), logger: o.Logger, clock: orReal(o.Clock),
		maxEntries: o.MaxEntries, limits: map[string]time.Time{},
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.maxEntries <= 0 {
		h.maxEntries = DefaultMaxHealthEntries
	}
	sum := sha256.Sum256([]byte(h.envelopeURL + " " + h.publicKey))
	h.receiver = hex.EncodeToString(sum[:8])
	if o.Spool != nil {
		dir := filepath.Join(o.Spool.Dir(), "health")
		err := mkdirNoFollow(dir)
		if err == nil {
			err = mkdirNoFollow(filepath.Join(dir, h.receiver))
		}
		if err != nil {
			h.logger.Error("cannot keep sessions and check-ins in the spool; they are sent from memory", "err", err)
		} else {
			h.dir = filepath.Join(dir, h.receiver)
		}
	}
	return h, nil
}

// Dir is where the updates wait, "" when in memory.
func (h *Health) Dir() string { return h.dir }

// PutSession queues a session update.
func (h *Health) PutSession(u *SessionUpdate) error {
	return h.put(&healthEntry{Kind: "session", Session: u})
}

// PutCheckIn queues a check-in.
func (h *Health) PutCheckIn(c *CheckIn) error {
	return h.put(&healthEntry{Kind: "check_in", CheckIn: c})
}

func (h *Health) put(e *healthEntry) error {
	if h.dir == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.mem) >= h.maxEntries {
			return h.full()
		}
		h.mem = append(h.mem, e)
		return nil
	}
	if n, err := h.count(); err == nil && n >= h.maxEntries {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.full()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s update: %w", e.Kind, err)
	}
	// The name sorts by time; the key in it lets a flush keep the order of
	// one session's or check-in's updates without reading them.
	name := fmt.Sprintf("%020d-%d-%d-%s.json", time.Now().UnixNano(), os.Getpid(), h.seq.Add(1), safeName(e.key()))
	if err := writeFileAtomic(filepath.Join(h.dir, name), b); err != nil {
		return fmt.Errorf("spool %s update: %w", e.Kind, err)
	}
	return nil
}

// full is the error of a full queue, logged once; h.mu is held.
func (h *Health) full() error {
	if !h.warnFull {
		h.warnFull = true
		h.logger.Error("too many sessions and check-ins wait for Sentry; new ones are dropped until it takes them", "max", h.maxEntries)
	}
	return ErrHealthFull
}

// count counts the updates waiting in the spool.
func (h *Health) count() (int, error) {
	des, err := os.ReadDir(h.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, de := range des {
		if isHealthEntry(de.Name()) {
			n++
		}
	}
	return n, nil
}

func isHealthEntry(name string) bool {
	return !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".json")
}

// Pending counts the updates not yet taken by Sentry.
func (h *Health) Pending() int {
	if h.dir == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.mem)
	}
	n, _ := h.count()
	return n
}

// HealthResult is what a Flush or a Drain did.
type HealthResult struct {
	// Sent counts the updates Sentry took (and that were removed).
	Sent int
	// Remaining counts the updates still waiting, Busy among them those
	// another delivery held.
	Remaining, Busy int
	// Errors are what went wrong: a refused or failed request, a rate
	// limit, an update quarantined.
	Errors []error

	sessionsSent int
}

// Flush sends what waits, once: every update it can claim (at most 1000),
// in as few envelopes as it can. An update whose session or check-in has
// an earlier update held by another delivery waits for the next flush.
func (h *Health) Flush(ctx context.Context) *HealthResult {
	res := &HealthResult{}
	entries := h.claimAll(res)
	defer h.release(entries)
	now := h.clock.Now()
	var sessions, checkins []*healthEntry
	for _, e := range entries {
		if e.Session != nil {
			sessions = append(sessions, e)
		} else {
			checkins = append(checkins, e)
		}
	}
	if lim := h.limitedUntil(categoryMonitor, now); !lim.IsZero() && len(checkins) > 0 {
		res.Remaining += len(checkins)
		res.Errors = append(res.Errors, fmt.Errorf("sentry check-ins: %w until %s", ErrRateLimited, lim.UTC().Format(time.RFC3339)))
		checkins = nil
	}
	for i, e := range checkins {
		err := h.sendCheckIn(ctx, e.CheckIn)
		if refused(err) {
			h.logger.Error("check-in refused by Sentry; dropped", "monitor", e.CheckIn.Monitor, "err", err)
			res.Errors = append(res.Errors, err)
			h.remove(e)
			continue
		}
		if err != nil {
			res.Errors = append(res.Errors, err)
			res.Remaining += len(checkins) - i
			break
		}
		h.remove(e)
		res.Sent++
	}
	if len(sessions) == 0 {
		return res
	}
	if lim := h.limitedUntil(categorySession, now); !lim.IsZero() {
		res.Remaining += len(sessions)
		res.Errors = append(res.Errors, fmt.Errorf("sentry sessions: %w until %s", ErrRateLimited, lim.UTC().Format(time.RFC3339)))
		return res
	}
	updates := make([]*SessionUpdate, len(sessions))
	for i, e := range sessions {
		updates[i] = e.Session
	}
	single, agg, folded := sessionItems(updates)
	for first := true; first || len(single) > 0; first = false {
		n := min(len(single), maxSessionItems)
		chunk := single[:n]
		single = single[n:]
		ids := map[string]bool{}
		for _, u := range chunk {
			ids[u.ID] = true
		}
		var chunkAgg []*SessionAggregates
		if first { // the aggregates go in the first envelope
			chunkAgg = agg
			for id := range folded {
				ids[id] = true
			}
		}
		if len(chunk) == 0 && len(chunkAgg) == 0 {
			break
		}
		var mine []*healthEntry
		for _, e := range sessions {
			if ids[e.Session.ID] {
				mine = append(mine, e)
			}
		}
		err := h.sendSessions(ctx, chunk, chunkAgg)
		if refused(err) {
			h.logger.Error("sessions refused by Sentry; dropped", "err", err)
			res.Errors = append(res.Errors, err)
			for _, e := range mine {
				h.remove(e)
			}
			res.sessionsSent += len(mine) // handled: not remaining
			continue
		}
		if err != nil {
			res.Errors = append(res.Errors, err)
			res.Remaining += len(sessions) - res.sessionsSent
			return res
		}
		for _, e := range mine {
			h.remove(e)
		}
		res.Sent += len(mine)
		res.sessionsSent += len(mine)
	}
	return res
}

// refused reports whether err says that these updates can never be sent:
// they cannot be encoded, or Sentry refused them as malformed or too large
// (400, 413, 422). Kept, they would hold back every later update; an
// answer that a fixed configuration can change (401, 403, 404, a
// redirect) keeps them for a later flush instead.
func refused(err error) bool {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		switch he.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return true
		}
		return false
	}
	return err != nil && errors.Is(err, ErrPermanent)
}

// Drain flushes until nothing waits, a request is refused or rate-limited
// past ctx's deadline, or ctx ends; between failed passes it backs off as
// the Dispatcher does.
func (h *Health) Drain(ctx context.Context) *HealthResult {
	total := &HealthResult{}
	for attempt := 0; attempt < 1000; attempt++ {
		res := h.Flush(ctx)
		total.Sent += res.Sent
		total.Remaining, total.Busy, total.Errors = res.Remaining, res.Busy, res.Errors
		if res.Remaining == 0 || ctx.Err() != nil {
			return total
		}
		if len(res.Errors) == 0 {
			if res.Sent == 0 {
				return total // what is left is another delivery's
			}
			continue // more than one pass held
		}
		last := res.Errors[len(res.Errors)-1]
		if IsPermanent(last) || errors.Is(last, ErrRateLimited) {
			return total
		}
		wait := backoff(attempt, DefaultMinBackoff, DefaultMaxBackoff)
		if he, ok := errors.AsType[*HTTPError](last); ok && he.RetryAfter > 0 {
			wait = he.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return total
		}
		if h.clock.Sleep(ctx, wait) != nil {
			return total
		}
	}
	return total
}

// claimAll claims the updates that wait, oldest first.
func (h *Health) claimAll(res *HealthResult) []*healthEntry {
	if h.dir == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := min(len(h.mem), maxPass)
		out := h.mem[:n:n]
		h.mem = h.mem[n:]
		return out
	}
	des, err := os.ReadDir(h.dir)
	if err != nil {
		res.Errors = append(res.Errors, fmt.Errorf("read health queue: %w", err))
		return nil
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".tmp-") || strings.HasSuffix(name, ".lock") {
			h.removeStale(de)
			continue
		}
		if isHealthEntry(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	blocked := map[string]bool{}
	var out []*healthEntry
	for _, name := range names {
		if len(out) >= maxPass {
			res.Remaining++
			continue
		}
		key := entryKey(name)
		if blocked[key] {
			res.Remaining++
			continue
		}
		e, err := h.claim(filepath.Join(h.dir, name))
		switch {
		case err == nil:
			out = append(out, e)
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, errBusy):
			blocked[key] = true
			res.Busy++
			res.Remaining++
		case errors.As(err, new(*quarantinedError)):
			res.Errors = append(res.Errors, err)
		default:
			blocked[key] = true
			res.Remaining++
			res.Errors = append(res.Errors, err)
		}
	}
	return out
}

// entryKey is the session or check-in id in an update's file name.
func entryKey(name string) string {
	name = strings.TrimSuffix(name, ".json")
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// claim takes the claim of the update at path and reads it; what is not
// an update is quarantined.
func (h *Health) claim(path string) (*healthEntry, error) {
	if _, err := os.Lstat(path); err != nil {
		return nil, err
	}
	lp := lockPath(path)
	lock, err := lockFile(lp)
	if err != nil {
		return nil, err
	}
	e, err := readHealthEntry(path)
	if err != nil {
		var bad *badEntryError
		if errors.As(err, &bad) && h.spool != nil {
			if qerr := h.spool.quarantineEntry(path, bad); qerr != nil {
				err = qerr
			}
		}
		if _, serr := os.Lstat(path); errors.Is(serr, fs.ErrNotExist) {
			os.Remove(lp)
		}
		lock.Close()
		return nil, err
	}
	e.claim = lock
	return e, nil
}

// readHealthEntry reads an update as the spool reads reports: no link
// followed, regular files only, bounded.
func readHealthEntry(path string) (*healthEntry, error) {
	b, err := readFileSafe(path, maxHealthEntrySize)
	if err != nil {
		return nil, err
	}
	e := &healthEntry{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, &badEntryError{fmt.Sprintf("is not a health update (%v)", err)}
	}
	switch {
	case e.Kind == "session" && e.Session != nil && e.Session.ID != "":
	case e.Kind == "check_in" && e.CheckIn != nil && e.CheckIn.ID != "" && e.CheckIn.Monitor != "":
	default:
		return nil, &badEntryError{"is not a health update (no session or check-in)"}
	}
	e.path = path
	return e, nil
}

// removeStale removes a temporary file or an orphaned lock file left by a
// process that died.
func (h *Health) removeStale(de fs.DirEntry) {
	fi, err := de.Info()
	if err != nil || time.Since(fi.ModTime()) < staleAfter || !fi.Mode().IsRegular() {
		return
	}
	path := filepath.Join(h.dir, de.Name())
	if strings.HasPrefix(de.Name(), ".tmp-") {
		os.Remove(path)
		return
	}
	entry := strings.TrimSuffix(path, ".lock") + ".json"
	if _, err := os.Lstat(entry); err == nil {
		return
	}
	if lock, err := lockFile(path); err == nil {
		if _, err := os.Lstat(entry); errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
		}
		lock.Close()
	}
}

// remove deletes a sent update and its lock file.
func (h *Health) remove(e *healthEntry) {
	if e.path == "" {
		e.Kind = "" // sent: release does not queue it again
		return
	}
	if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.logger.Warn("cannot remove a sent update from the spool; it may be sent again", "err", err)
		return
	}
	os.Remove(lockPath(e.path))
	e.path = ""
	e.Kind = ""
}

// release gives back the claims, and puts back in memory what was not
// sent.
func (h *Health) release(entries []*healthEntry) {
	var back []*healthEntry
	for _, e := range entries {
		if e.claim != nil {
			e.claim.Close()
			e.claim = nil
		}
		if h.dir == "" && e.Kind != "" {
			back = append(back, e)
		}
	}
	if len(entries) > 0 && h.dir != "" {
		_ = syncDir(h.dir)
	}
	if len(back) > 0 {
		h.mu.Lock()
		h.mem = append(back, h.mem...)
		h.mu.Unlock()
	}
}

// sendSessions posts one envelope of session items and aggregates.
func (h *Health) sendSessions(ctx context.Context, single []*SessionUpdate, agg []*SessionAggregates) error {
	var b bytes.Buffer
	h.envelopeHeader(&b)
	for _, u := range single {
		if err := writeItem(&b, "session", u); err != nil {
			return err
		}
	}
	for _, a := range agg {
		if err := writeItem(&b, "sessions", a); err != nil {
			return err
		}
	}
	return h.post(ctx, b.Bytes(), categorySession)
}

// sendCheckIn posts one check-in in an envelope of its own.
func (h *Health) sendCheckIn(ctx context.Context, c *CheckIn) error {
	payload, err := c.payload()
	if err != nil {
		return fmt.Errorf("sentry: %w: %w", err, ErrPermanent)
	}
	var b bytes.Buffer
	h.envelopeHeader(&b)
	writeRawItem(&b, "check_in", payload)
	return h.post(ctx, b.Bytes(), categoryMonitor)
}

func (h *Health) envelopeHeader(b *bytes.Buffer) {
	hdr, _ := json.Marshal(map[string]any{"sent_at": h.clock.Now().UTC().Format(time.RFC3339Nano)})
	b.Write(hdr)
	b.WriteByte('\n')
}

func writeItem(b *bytes.Buffer, typ string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s item: %w: %w", typ, err, ErrPermanent)
	}
	writeRawItem(b, typ, payload)
	return nil
}

func writeRawItem(b *bytes.Buffer, typ string, payload []byte) {
	item, _ := json.Marshal(map[string]any{"type": typ, "length": len(payload)})
	b.Write(item)
	b.WriteByte('\n')
	b.Write(payload)
	b.WriteByte('\n')
}

// post sends an envelope and records the rate limits of its category
// that the answer announced.
func (h *Health) post(ctx context.Context, body []byte, category string) error {
	sink := "sentry " + category + "s"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.envelopeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", sink, ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_client=prodwrap/1, sentry_key="+h.publicKey)
	secrets := requestSecrets(req)
	resp, err := h.client.Do(req)
	if err != nil {
		return maskError(scrubURLError(sink, err), secrets)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody*4))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	wait := rateLimitFor(resp.Header.Get("X-Sentry-Rate-Limits"), category)
	ra := retryAfter(resp.Header, time.Now())
	if resp.StatusCode == http.StatusTooManyRequests {
		if ra == 0 && wait == 0 {
			ra = 60 * time.Second // Sentry's rule when it does not say
		}
		wait = max(wait, ra)
	}
	if wait > 0 {
		h.noteLimit(category, wait)
	}
	if resp.StatusCode/100 == 2 {
		return nil
	}
	he := &HTTPError{Sink: sink, Status: resp.StatusCode, Body: errorBody(answer, secrets), RetryAfter: max(ra, wait)}
	if resp.StatusCode/100 == 3 {
		he.Body = ""
		he.Location = maskLocation(resp.Header.Get("Location"), req.URL, secrets)
	}
	return he
}

// limitName is what the rate limit of a category of this receiver is kept
// under in the spool's state.
func (h *Health) limitName(category string) string { return "sentry-" + category + "/" + h.receiver }

func (h *Health) noteLimit(category string, wait time.Duration) {
	now := h.clock.Now()
	until := now.Add(wait)
	h.mu.Lock()
	if until.After(h.limits[category]) {
		h.limits[category] = until
	}
	h.mu.Unlock()
	if err := h.spool.noteLimit(h.limitName(category), until, now); err != nil {
		h.logger.Warn("cannot record the rate limit in the spool; this process keeps it", "category", category, "err", err)
	}
}

// limitedUntil is when the category's known rate limit ends; zero when
// none holds now.
func (h *Health) limitedUntil(category string, now time.Time) time.Time {
	h.mu.Lock()
	until := h.limits[category]
	h.mu.Unlock()
	if s := h.spool.limitedUntil(h.limitName(category), now); s.After(until) {
		until = s
	}
	if !until.After(now) {
		return time.Time{}
	}
	return until
}
