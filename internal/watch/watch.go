// Package watch runs a command under supervise and reports each of its
// abnormal ends: it is the "run and watch COMMAND" of prodwrap, shared by
// the prefix command (cmd/prodwrap) and by programs that wrap themselves
// (selfwrap's re-exec mode). It wires the packages that own the parts —
// supervise (the child), parse and report (the crash), notify (the spool and
// the sinks), metrics — and owns only the order of things: the child starts
// first, the spool left by earlier runs is flushed beside it, a signal that
// arrives after the child's exit is held until its report is made (and
// then ends the restarts), a report is spooled before any sink is tried,
// and the child's status is returned.
package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

// Exit statuses of prodwrap's own (design.md, "Command line"); everything
// else Run returns is the child's.
const (
	// ExitFailure is returned when prodwrap failed before the child ran.
	ExitFailure = 125
	// ExitSignalsBase+N is returned when signal N ended the child (or the
	// restart delay).
	ExitSignalsBase = 128
)

// Options are a watch: the configuration and the command.
type Options struct {
	// Config is the effective configuration.
	Config *config.Config
	// Path is the command to run (looked up in PATH without a slash).
	Path string
	// Argv0 is the program name the child sees; "" means Path.
	Argv0 string
	// Args are the command's arguments.
	Args []string
	// Env is prodwrap's environment: it names the default spool directory,
	// and the child's environment is Config.ChildEnv(Env) plus ExtraEnv.
	Env []string
	// ExtraEnv is added to the child's environment.
	ExtraEnv []string
	// Stdin, Stdout and Stderr are prodwrap's standard files; nil means
	// os.Stdin, os.Stdout and os.Stderr.
	Stdin, Stdout, Stderr *os.File
	// OnReport, when set, is called with each report before it is spooled;
	// it may add tags or change the service fields. A panic in it is
	// recovered and logged, and the report goes out as it is.
	OnReport func(*report.Report)
}

// Run runs the command, once or again as the restart policy says, reports
// each abnormal end, and returns the status prodwrap exits with: the
// child's code, 128+N when signal N killed it, 127 and 126 when it could
// not be started (said on Stderr). An error means prodwrap failed before
// the child ran (bad signal list, unusable sinks, metrics address in use):
// the caller exits ExitFailure.
func Run(o Options) (int, error) {
	cfg := o.Config
	stderr := o.Stderr // stdin and stdout go to supervise as they are; nil means os's
	if stderr == nil {
		stderr = os.Stderr
	}
	signals, err := forwardSignals(cfg)
	if err != nil {
		return ExitFailure, err
	}

	gate := supervise.NewLineGate(stderr)
	logger := NewLogger(gate.Log(), cfg, IsTerminal(stderr))
	deliv, err := NewDelivery(cfg, o.Env, logger)
	if err != nil {
		return ExitFailure, err
	}

	var m *metrics.Metrics
	if cfg.Metrics.Listen != "" || cfg.Metrics.Textfile != "" {
		m = metrics.New()
		deliv.Dispatcher.OnDelivered = func(sink string, err error, took time.Duration) {
			m.Delivered(sink, err == nil, took)
			if errors.Is(err, notify.ErrInternal) {
				m.InternalError()
			}
		}
	}
	if cfg.Metrics.Listen != "" {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		addr, err := m.Serve(ctx, cfg.Metrics.Listen)
		if err != nil {
			return ExitFailure, err
		}
		logger.Debug("serving metrics", "addr", addr.String())
	}

	flushed := deliv.FlushInBackground(m)

	w := &watcher{
		o: o, cfg: cfg, stderr: stderr,
		gate: gate, logger: logger, deliv: deliv, signals: signals, metrics: m,
	}
	// The build information is read once, when the first report needs it:
	// a clean exit never reads it, and the child's start does not wait for it.
	w.build = sync.OnceValue(func() report.Build { return readBuild(o.Path, logger) })
	policy := newRestartPolicy(cfg, logger)
	code := 0
	for restart := 0; ; restart++ {
		var uptime time.Duration
		var started bool
		code, uptime, started = w.runOnce(restart)
		if !started || w.stopRequested || !policy.again(code, restart) {
			// No release: prodwrap exits now, once the background flush
			// ended (within a second); a signal meanwhile is held, and
			// the status is the child's either way.
			break
		}
		if w.releaseSignals(); w.stopRequested {
			break
		}
		if sig := sleepOrSignal(policy.delay(uptime)); sig != 0 {
			logger.Info("stopped during the restart delay", "signal", unix.SignalName(sig))
			code = ExitSignalsBase + int(sig)
			break
		}
		logger.Info("restarting", "restart", restart+1, "last_status", code)
	}
	waitBounded(flushed, time.Second)
	return code, nil
}

// watcher runs the child, once or again under a restart policy, and
// reports each abnormal end.
type watcher struct {
	o       Options
	cfg     *config.Config
	stderr  *os.File
	gate    *supervise.LineGate
	logger  *slog.Logger
	deliv   *Delivery
	signals []os.Signal
	build   func() report.Build
	metrics *metrics.Metrics // nil when off
	// child is the last run's child, whose signals may still be caught.
	child *supervise.Child
	// stopRequested is set when a terminating signal reached prodwrap
	// during a run (it was forwarded) or after it (it was held): the child
	// is not restarted.
	stopRequested bool
}

// releaseSignals ends the catching of the forwarded signals that the last
// child's Wait left in place (see supervise.Child.Release). A terminating
// signal that reached prodwrap after the child exited, while its report
// was being made, was held rather than allowed to kill prodwrap with the
// report unwritten; it is honoured now as one forwarded during the run
// would have been: no restart follows.
func (w *watcher) releaseSignals() {
	if w.child == nil {
		return
	}
	for _, sig := range w.child.Release() {
		w.logger.Info("signal received after the child exited", "signal", unix.SignalName(sig))
		if stops(sig) {
			w.stopRequested = true
		}
	}
}

// stops reports whether sig asks prodwrap to stop: once it was forwarded
// to the child or reached prodwrap after it, the child is not restarted.
func stops(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}

// runOnce runs the child once and reports it when it died abnormally. It
// returns the child's status, how long it ran, and whether it started at
// all (a command that cannot start is not restarted).
func (w *watcher) runOnce(restart int) (code int, uptime time.Duration, started bool) {
	cfg, gate, logger := w.cfg, w.gate, w.logger
	child := &supervise.Child{
		Path:         w.o.Path,
		Argv0:        w.o.Argv0,
		Args:         w.o.Args,
		Env:          append(cfg.ChildEnv(w.o.Env), w.o.ExtraEnv...),
		Stdin:        w.o.Stdin,
		Stdout:       w.o.Stdout,
		Stderr:       gate.Child(),
		Signals:      w.signals,
		ProcessGroup: cfg.Process.ProcessGroup,
		Subreaper:    cfg.Process.Subreaper,
		WaitDelay:    time.Duration(cfg.Capture.DrainTimeout),
		Capture: supervise.Capture{
			TailLines:  cfg.Capture.TailLines,
			MaxLine:    int(cfg.Capture.MaxLine),
			MaxDump:    int64(cfg.Capture.MaxDump),
			MemoryDump: int(cfg.Capture.MemoryDump),
			SpillDir:   w.deliv.Spool.Dir(),
			StartsDump: DumpDetector(),
		},
		Logger:  logger,
		OnPanic: func(any) { w.metrics.InternalError() },
	}
	if err := child.Start(); err != nil {
		fmt.Fprintf(w.stderr, "prodwrap: %v\n", err)
		return supervise.ExitCode(err), 0, false
	}
	w.child = child
	w.metrics.Started(time.Now())
	// Read after the start, off the child's path: an OOM kill within these
	// microseconds would be missed, not misattributed.
	oomBefore, oomErr := supervise.OOMKills(0)
	res, err := child.Wait()
	if err != nil {
		w.metrics.Exited("unknown")
		fmt.Fprintf(w.stderr, "prodwrap: %v\n", err)
		return ExitFailure, 0, false
	}
	defer w.writeTextfile()
	if res.Dump != nil {
		defer res.Dump.Close()
	}
	for _, sig := range res.Forwarded {
		if stops(sig) {
			w.stopRequested = true
		}
	}
	logger.Debug("child exited", "pid", res.PID, "status", res.ExitCode, "uptime", res.Uptime(), "dump_bytes", dumpSize(res))
	if err := gate.Flush(); err != nil {
		logger.Debug("cannot write held log lines", "err", err)
	}
	if res.ExitCode == 0 {
		w.metrics.Exited("clean")
		return 0, res.Uptime(), true // a clean exit is never reported, whatever it printed
	}
	if err := gate.EndChildLine(); err != nil {
		logger.Debug("cannot end the child's last line", "err", err)
	}

	build := w.build()
	crash := crashOf(res, build, logger)
	oomKilled := false
	if res.Signal == syscall.SIGKILL && oomErr == nil {
		if n, err := supervise.OOMKills(0); err == nil && n > oomBefore {
			oomKilled = true
		}
	}
	var output []byte
	if res.Dump != nil {
		output = res.Dump.Bytes(report.MaxOutput)
	}
	rep := report.New(report.Input{
		Crash:           crash,
		Exit:            ExitOf(res),
		OOMKilled:       oomKilled,
		Path:            w.o.Path,
		Args:            w.o.Args,
		PID:             res.PID,
		Tail:            res.Tail,
		Output:          output,
		OutputTruncated: res.Dump != nil && (res.Dump.Truncated || res.Dump.Size() > int64(len(output))),
		Service:         cfg.Service.Name,
		Environment:     cfg.Service.Environment,
		Release:         cfg.Service.Release,
		Build:           build,
		Restart:         restart,
	})
	w.metrics.Exited(string(rep.Crash.Kind))
	callOnReport(w.o.OnReport, rep, logger)
	// Delivery may take long: from here a signal has its usual effect.
	w.releaseSignals()
	Deliver(w.deliv, rep, nil, w.stderr, logger)
	w.metrics.SetSpool(w.deliv.Pending())
	return res.ExitCode, res.Uptime(), true
}

// Deliver hands rep to onReport (when set), then delivers it and writes
// the human summary to summary. Delivery is bounded by the configured
// deadline and cut short by SIGTERM or SIGINT: what is not delivered stays
// spooled for the next run or `prodwrap flush`.
func Deliver(d *Delivery, rep *report.Report, onReport func(*report.Report), summary io.Writer, logger *slog.Logger) *notify.Outcome {
	callOnReport(onReport, rep, logger)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return d.Report(ctx, rep, summary)
}

// callOnReport hands rep to onReport, when set; a panic there is logged.
func callOnReport(onReport func(*report.Report), rep *report.Report, logger *slog.Logger) {
	if onReport == nil {
		return
	}
	defer RecoverLogged(logger, nil, "OnReport hook")
	onReport(rep)
}

// writeTextfile rewrites the metrics textfile, when one is configured.
func (w *watcher) writeTextfile() {
	if w.metrics == nil || w.cfg.Metrics.Textfile == "" {
		return
	}
	if err := w.metrics.WriteTextfile(w.cfg.Metrics.Textfile); err != nil {
		w.logger.Error("cannot write the metrics textfile", "err", err)
	}
}

// crashOf parses the tail and the dump; nil when they hold no crash.
func crashOf(res *supervise.Result, build report.Build, logger *slog.Logger) *parse.Crash {
	if res.Dump == nil && len(res.Tail) == 0 {
		return nil
	}
	var tail bytes.Buffer
	for _, l := range res.Tail {
		tail.WriteString(l)
		tail.WriteByte('\n')
	}
	in := io.Reader(&tail)
	if res.Dump != nil {
		in = io.MultiReader(&tail, res.Dump.Reader())
	}
	c := ParseCrash(in, build, logger)
	if c != nil && res.Dump != nil && res.Dump.Truncated {
		c.Truncated = true
	}
	return c
}

// ParseCrash parses crash output with the program's build information (its
// main module decides which frames are the program's own); nil when the
// output holds no crash or cannot be parsed (logged: the exit is still
// reported).
func ParseCrash(in io.Reader, build report.Build, logger *slog.Logger) *parse.Crash {
	opts := parse.DefaultOptions()
	opts.MainModule = build.MainModule
	c, err := parse.Parse(in, opts)
	switch {
	case errors.Is(err, parse.ErrNoCrash):
		return nil
	case err != nil:
		logger.Error("cannot parse the crash output; reporting the exit only", "err", err)
		return nil
	}
	return c
}

// ExitOf is the report's exit section for a child's result.
func ExitOf(res *supervise.Result) report.Exit {
	return Exit(res.ExitCode, res.Signal, res.CoreDumped, res.Uptime())
}

// Exit is the report's exit section: the status, the signal that ended the
// process (0 for none), whether it dumped core, and how long it ran.
func Exit(code int, sig syscall.Signal, coreDumped bool, uptime time.Duration) report.Exit {
	e := report.Exit{Code: code, CoreDumped: coreDumped, UptimeMS: uptime.Milliseconds()}
	if sig != 0 {
		name := unix.SignalName(sig)
		e.Signal = &name
		e.SignalNumber = int(sig)
	}
	return e
}

// readBuild reads the child binary's build information; a program that is
// not a Go binary (a shell script) simply has none.
func readBuild(path string, logger *slog.Logger) report.Build {
	resolved, err := exec.LookPath(path)
	if err != nil {
		return report.Build{}
	}
	b, err := ReadBuild(resolved)
	if err != nil {
		logger.Debug("no Go build information in the command", "path", resolved, "err", err)
	}
	return b
}

func forwardSignals(cfg *config.Config) ([]os.Signal, error) {
	out := make([]os.Signal, 0, len(cfg.Process.ForwardSignals))
	for _, s := range cfg.Process.ForwardSignals {
		sig, err := config.ParseSignal(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sig)
	}
	return out, nil
}

func waitBounded(c <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c:
	case <-t.C:
	}
}

// RecoverLogged is deferred at the top of prodwrap's own goroutines: a
// panic there is a bug of prodwrap's, logged with its stack and counted in
// m (which may be nil), and must not take the child down.
func RecoverLogged(logger *slog.Logger, m *metrics.Metrics, where string) {
	if v := recover(); v != nil {
		m.InternalError()
		logger.Error("internal error (a bug, please report it)", "where", where, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

func dumpSize(res *supervise.Result) int64 {
	if res.Dump == nil {
		return 0
	}
	return res.Dump.Size()
}

// DumpDetector tells supervise where the dump starts: at the first line
// parse.StartsDump accepts (a header, or a goroutine section after a header
// that began mid-line). supervise asks again only once a capture was cut at
// its cap; then only a new header may start a new capture, not one of the
// goroutine sections of the same huge dump, so that the head of the dump —
// its header and the crashing goroutine — is what is kept.
func DumpDetector() func(line []byte) bool {
	started := false
	return func(line []byte) bool {
		if started {
			return parse.StartsHeader(line)
		}
		started = parse.StartsDump(line)
		return started
	}
}
