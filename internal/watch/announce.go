package watch

import (
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/report"
)

// statusLimit bounds the summary in systemd's STATUS= (systemctl status
// shows one line).
const statusLimit = 512

// announcer tells the platform prodwrap runs on of each crash, beside the
// report's sinks: the Kubernetes termination message, the journal entry,
// and systemd's status through the notify relay. Each part is off unless
// its platform is there (or configured). It is used by the watcher's
// goroutine and, for delivered, by the background deliverer.
type announcer struct {
	termLog       string       // "" when off
	journalSocket string       // "" when off
	relay         *NotifyRelay // nil when off
	logger        *slog.Logger

	mu sync.Mutex
	// latest is the time of the report the termination message holds: a
	// background delivery of an older report does not replace a newer one.
	latest time.Time
}

// newAnnouncer sets up what the platform asks for: the termination log
// (TerminationLog), the journal entry when stderr is the journal, and the
// notify relay when NOTIFY_SOCKET is set. A relay that cannot be set up is
// logged, and the child gets NOTIFY_SOCKET as it is.
func newAnnouncer(cfg *config.Config, env []string, stderr *os.File, logger *slog.Logger, m *metrics.Metrics) *announcer {
	getenv := lookup(env)
	a := &announcer{termLog: TerminationLog(cfg, getenv), logger: logger}
	if cfg.Systemd.Journal && JournalStream(getenv("JOURNAL_STREAM"), stderr) {
		a.journalSocket = cfg.Systemd.JournalSocket
	}
	if sock := getenv("NOTIFY_SOCKET"); sock != "" && cfg.Systemd.NotifyRelay {
		r, err := StartNotifyRelay(sock, getenv("RUNTIME_DIRECTORY"), logger, m)
		if err != nil {
			logger.Error("cannot relay systemd notifications; the child gets NOTIFY_SOCKET as it is", "err", err)
		} else {
			a.relay = r
			logger.Debug("relaying systemd notifications", "child_socket", r.Socket())
		}
	}
	return a
}

// childEnv is env as the child gets it from the platform's side.
func (a *announcer) childEnv(env []string) []string {
	if a.relay == nil {
		return env
	}
	return a.relay.ChildEnv(env)
}

// crashed is called as soon as the report of an abnormal end is made,
// before delivery: the termination message is written (a prodwrap killed
// while it delivers leaves it all the same), and systemd hears
// STATUS=crashed — with STOPPING=1 when no restart follows.
func (a *announcer) crashed(rep *report.Report, final bool) {
	a.terminationMessage(Summary{Report: rep})
	if a.relay != nil {
		msg := "STATUS=crashed: " + Summary{Report: rep}.Line(statusLimit)
		if final {
			msg = "STOPPING=1\n" + msg
		}
		a.relay.Send(msg)
	}
}

// delivered is called once a report was delivered, or spooled for later:
// the journal gets its entry and the termination message is written again,
// now with the Sentry event id when Sentry took the report.
func (a *announcer) delivered(rep *report.Report, eventID string) {
	s := Summary{Report: rep, EventID: eventID}
	if eventID != "" {
		a.terminationMessage(s)
	}
	if a.journalSocket != "" {
		if err := sendJournal(a.journalSocket, journalEntry(s)); err != nil {
			a.logger.Warn("cannot send the crash to the journal", "err", err)
		}
	}
}

// terminationMessage writes s to the termination log, unless it holds a
// newer report's.
func (a *announcer) terminationMessage(s Summary) {
	if a.termLog == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.Report.Time.Before(a.latest) {
		return
	}
	a.latest = s.Report.Time
	if err := writeTerminationLog(a.termLog, s); err != nil {
		a.logger.Warn("cannot write the termination message", "err", err)
	}
}

// close stops the relay.
func (a *announcer) close() {
	if a.relay != nil {
		a.relay.Close()
	}
}
