package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/google/uuid"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// healthBatch is the least time between two background sends of sessions
// and check-ins: the runs of a crash loop pile up meanwhile and go to
// Sentry in one envelope, their sessions counted in one aggregate, instead
// of two requests a restart.
const healthBatch = time.Second

// newHealthQueue is the queue of sessions and check-ins of the configured
// Sentry project, nil without a DSN. It is built whenever a DSN is set, so
// that `prodwrap flush` delivers what earlier runs left, whatever the
// settings say now.
func newHealthQueue(cfg *config.Config, sp *notify.Spool, logger *slog.Logger) *notify.Health {
	if cfg.Sentry.DSN == "" {
		return nil
	}
	q, err := notify.NewHealth(notify.HealthOptions{DSN: cfg.Sentry.DSN.Reveal(), Spool: sp, Logger: logger})
	if err != nil {
		logger.Error("cannot send sessions and check-ins", "err", err)
		return nil
	}
	return q
}

// flushHealth drains the queue of sessions and check-ins into res: what
// is left counts as remaining, what went wrong is logged and listed.
func (r *Reporter) flushHealth(ctx context.Context, res *notify.FlushResult) {
	if r.healthQ == nil || res == nil {
		return
	}
	hr := r.healthQ.Drain(ctx)
	res.Remaining += hr.Remaining
	res.Busy += hr.Busy
	for _, err := range hr.Errors {
		r.logger.Warn("sessions or check-ins not delivered yet; they stay in the spool", "err", err)
	}
	res.Errors = append(res.Errors, hr.Errors...)
}

// health turns each run of the child into a Sentry release-health session
// and, with a monitor, into Crons check-ins (docs/release-health.md): the start's
// updates are spooled beside the child as it starts, the end's when it
// has exited, and a background sender delivers them at most every
// healthBatch. A nil *health does nothing.
type health struct {
	q        *notify.Health
	sessions bool
	monitor  string
	mcfg     *notify.MonitorConfig
	env      string
	release  func() string
	did      string
	logger   *slog.Logger
	deadline time.Duration

	warnRelease sync.Once
	kick        chan struct{}
	quit        chan struct{}   // closed by close: the sender stops after its send
	ctx         context.Context // cancelled by close when that send takes too long
	cancel      context.CancelFunc
	done        chan struct{} // closed when the sender ended
	startOnce   sync.Once

	cur *healthRun // the run going on; the watcher's goroutine only
}

// healthRun is one run of the child as health knows it.
type healthRun struct {
	sid, checkIn string
	started      time.Time
	release      string
	spooled      chan struct{} // closed when the start's updates are spooled
}

// newHealth is the health of a watch, nil when neither sessions nor a
// monitor are on. build gives the child's build information, which names
// the default release (it may read the binary: it is called beside the
// child); env is prodwrap's environment (the CI variables of the release).
func newHealth(cfg *config.Config, rep *Reporter, build func() report.Build, env []string) *health {
	s := cfg.Sentry
	if rep.healthQ == nil || (!s.SessionsOn() && s.Monitor == "") {
		return nil
	}
	h := &health{
		q: rep.healthQ, sessions: s.SessionsOn(), monitor: s.Monitor,
		env: cmpOr(s.Environment, cfg.Service.Environment), did: hostID(), logger: rep.logger,
		deadline: rep.deadline(), kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	getenv := lookup(env)
	h.release = func() string {
		// The release of the run's events (NewDelivery, SentryRelease), so
		// that the crash-free rate is the release's own.
		if r := cmpOr(s.Release, cfg.Service.Release); r != "" {
			return r
		}
		return notify.SentryRelease(report.New(report.Input{Build: build(), Crash: &parse.Crash{}}), getenv)
	}
	if s.MonitorSchedule != "" {
		h.mcfg = &notify.MonitorConfig{
			Schedule: s.MonitorSchedule, CheckInMargin: time.Duration(s.MonitorCheckinMargin),
			MaxRuntime: time.Duration(s.MonitorMaxRuntime), Timezone: s.MonitorTimezone,
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// started spools the start of a run — the session's init, the
// in_progress check-in — beside the child, which does not wait for it.
func (h *health) started(at time.Time) {
	if h == nil {
		return
	}
	h.startOnce.Do(func() { go h.send() })
	run := &healthRun{sid: uuid.NewString(), checkIn: strings.ReplaceAll(uuid.NewString(), "-", ""), started: at.UTC(), spooled: make(chan struct{})}
	h.cur = run
	go func() {
		defer close(run.spooled)
		defer RecoverLogged(h.logger, nil, "session start")
		run.release = h.release()
		if h.sessions && run.release == "" {
			h.warnRelease.Do(func() {
				h.logger.Info("no release known (set service.release, or build the binary from a module version or a VCS checkout): no release-health sessions, which Sentry would drop")
			})
		}
		if h.sessions && run.release != "" {
			h.put(h.q.PutSession(&notify.SessionUpdate{
				ID: run.sid, DID: h.did, Init: true, Started: run.started, Timestamp: run.started,
				Status: notify.SessionOK, Attrs: notify.SessionAttrs{Release: run.release, Environment: h.env},
			}))
		}
		if h.monitor != "" {
			h.put(h.q.PutCheckIn(&notify.CheckIn{
				ID: run.checkIn, Monitor: h.monitor, Status: sentry.CheckInStatusInProgress,
				Release: run.release, Environment: h.env, Config: h.mcfg, Time: run.started,
			}))
		}
		h.wake()
	}()
}

// ended spools the end of the run that started last: the session's final
// status and duration, the ok or error check-in. rep is the run's report,
// nil for a clean exit; stopped says that a signal prodwrap forwarded
// ended the child.
func (h *health) ended(code int, uptime time.Duration, rep *report.Report, stopped bool) {
	if h == nil || h.cur == nil {
		return
	}
	run := h.cur
	h.cur = nil
	<-run.spooled
	now := time.Now().UTC()
	if h.sessions && run.release != "" {
		status, errs := sessionStatus(code, rep, stopped)
		h.put(h.q.PutSession(&notify.SessionUpdate{
			ID: run.sid, DID: h.did, Started: run.started, Timestamp: now, Status: status, Errors: errs,
			Duration: uptime.Seconds(), Attrs: notify.SessionAttrs{Release: run.release, Environment: h.env},
		}))
	}
	if h.monitor != "" {
		status := sentry.CheckInStatusOK
		if code != 0 {
			status = sentry.CheckInStatusError
		}
		h.put(h.q.PutCheckIn(&notify.CheckIn{
			ID: run.checkIn, Monitor: h.monitor, Status: status, Duration: uptime,
			Release: run.release, Environment: h.env, Config: h.mcfg, Time: now,
		}))
	}
	h.wake()
}

func (h *health) put(err error) {
	if err != nil && !errors.Is(err, notify.ErrHealthFull) {
		h.logger.Error("cannot queue the session or check-in", "err", err)
	}
}

func (h *health) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// send is the background sender: woken by each update, it flushes what
// waits, at most every healthBatch. It stops when close closes h.quit,
// after the send under way (a send cut short could have reached Sentry:
// its updates would go twice).
func (h *health) send() {
	defer close(h.done)
	defer RecoverLogged(h.logger, nil, "session delivery")
	var last time.Time
	for {
		select {
		case <-h.kick:
		case <-h.quit:
			return
		}
		if wait := healthBatch - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-h.quit:
				t.Stop()
				return
			}
		}
		ctx, cancel := context.WithTimeout(h.ctx, h.deadline)
		res := h.q.Flush(ctx)
		cancel()
		last = time.Now()
		for _, err := range res.Errors {
			h.logger.Debug("sessions or check-ins not delivered yet; they stay in the spool", "err", err)
		}
	}
}

// close stops the sender and delivers what waits in the foreground, by
// the time given, cut short when abort ends: the final session and
// check-in of the last run are sent before prodwrap exits; what is not
// stays spooled for the next start or `prodwrap flush`.
func (h *health) close(abort context.Context, by time.Time) {
	if h == nil {
		return
	}
	close(h.quit)
	h.startOnce.Do(func() { close(h.done) })
	ctx, cancel := context.WithDeadline(abort, by)
	defer cancel()
	select {
	case <-h.done:
	case <-ctx.Done():
	}
	h.cancel()
	<-h.done // at once: its send is cut short
	res := h.q.Drain(ctx)
	for _, err := range res.Errors {
		h.logger.Warn("sessions or check-ins not delivered; they stay in the spool for the next start or prodwrap flush", "err", err)
	}
}

// sessionStatus is how a run's session ends: exited for a clean exit, a
// stop (killed, without a dump, by a signal prodwrap forwarded: systemctl
// stop, a deploy), or a non-zero exit without a dump (with an error:
// Sentry counts it as errored); crashed for a Go crash; abnormal for a
// kill from elsewhere with no dump (an operator's SIGKILL, the OOM killer).
func sessionStatus(code int, rep *report.Report, stopped bool) (notify.SessionStatus, int) {
	if code == 0 {
		return notify.SessionExited, 0
	}
	if stopped && rep != nil && rep.Crash != nil && rep.Crash.Kind == parse.KindKilled {
		return notify.SessionExited, 0
	}
	if rep == nil || rep.Crash == nil {
		return notify.SessionAbnormal, 0
	}
	switch rep.Crash.Kind {
	case parse.KindExit:
		return notify.SessionExited, 1
	case parse.KindKilled:
		return notify.SessionAbnormal, 0
	case parse.KindOOM:
		if rep.Exit.Signal != nil && rep.Crash.Goroutine == nil {
			return notify.SessionAbnormal, 0 // the OOM killer's SIGKILL: no dump
		}
	}
	return notify.SessionCrashed, 0
}

// stopSignal reports whether sig, forwarded to the child, asks it to stop
// (SIGTERM: systemctl stop, docker stop; SIGINT: ^C), rather than to reload
// (SIGHUP) or to do something else a signal of its own means.
func stopSignal(sig syscall.Signal) bool { return sig == syscall.SIGTERM || sig == syscall.SIGINT }

// hostID is the session's distinct id: a hash of the machine id (not the
// id itself, which systemd asks to keep private), else of the host name.
func hostID() string {
	id := ""
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := readSmall(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			id = strings.TrimSpace(string(b))
			break
		}
	}
	if id == "" {
		id, _ = os.Hostname()
	}
	sum := sha256.Sum256([]byte("prodwrap session did\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// readSmall reads at most 4 KiB of a file.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4<<10))
}
