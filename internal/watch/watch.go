// Package watch runs a command under supervise and reports each of its
// abnormal ends: it is the "run and watch COMMAND" of prodwrap, shared by
// the prefix command (cmd/prodwrap) and by programs that wrap themselves
// (selfwrap). It owns what no other package may own twice
// (docs/architecture.md):
//
//   - the report pipeline ([Reporter]): configuration → report → spool →
//     sinks, built once and used by the prefix command, `send`, `flush`
//     and both selfwrap modes;
//   - the order of a run: the child starts first, the spool left by
//     earlier runs is flushed beside it, a report is spooled before any
//     sink is tried, in supervisor mode the next child starts while the
//     last report is delivered in the background, and the child's status
//     is returned.
//
// prodwrap's signals are internal/signals' (registered once, for
// prodwrap's whole life, forwarded while a child runs, "stop now" at any
// other moment): Run hands them to the child's run and takes them back.
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
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/metrics"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

// Exit statuses of prodwrap's own (docs/architecture.md, "Exit status");
// everything else Run returns is the child's.
const (
	// ExitFailure is returned when prodwrap failed before the child ran.
	ExitFailure = supervise.ExitFailure
	// ExitSignalsBase+N is returned when signal N ended the child, or
	// stopped prodwrap before any child ran.
	ExitSignalsBase = 128
)

// Options are a watch: the configuration and the command.
type Options struct {
	// Config is the effective configuration.
	Config *config.Config
	// Signals is prodwrap's signal owner (signals.Register, called once at
	// start). nil: Run registers the signals itself and unregisters them
	// when it returns — for tests and embedders, not for prodwrap.
	Signals *signals.Owner
	// Path is the command to run (looked up in PATH without a slash).
	Path string
	// Argv0 is the program name the child sees; "" means Path.
	Argv0 string
	// Args are the command's arguments.
	Args []string
	// Env is prodwrap's environment: it names the default spool directory,
	// and the child's environment is ChildEnv(Config, Env) plus ExtraEnv.
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
	// Wrap is the reports' wrap field ("" for the prefix command).
	Wrap string
	// ConfigErrors are the configuration's errors when it was loaded
	// leniently (fail-open): logged once, put in every report.
	ConfigErrors []string
	// ExecSelf says the running binary is the prodwrap command, which
	// its first argument ExecArg makes an exec trampoline
	// (ExecListenPID): under socket activation the child is started
	// through it, so that LISTEN_PID names the child. false (selfwrap:
	// the binary is the program's) passes LISTEN_PID on as it is.
	ExecSelf bool
	// KnownEnv names PRODWRAP_* variables that are not settings but are
	// known all the same (selfwrap's); any other unknown one is warned
	// about once, with a suggestion.
	KnownEnv []string
}

// knownEnv are the PRODWRAP_* variables of prodwrap's own that are not
// settings: the tests' coverage directory.
var knownEnv = []string{"PRODWRAP_COVERDIR"}

// ConfigErrors turns a lenient load's errors into report lines.
func ConfigErrors(err error) []string {
	var errs config.Errors
	if !errors.As(err, &errs) {
		return nil
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// ForwardSignals parses the configured forward list. An empty list
// forwards none (a non-nil empty slice: supervise's nil means its
// defaults).
func ForwardSignals(cfg *config.Config) ([]os.Signal, error) {
	out := make([]os.Signal, 0, len(cfg.Process.ForwardSignals))
	for _, s := range cfg.Process.ForwardSignals {
		sig, err := config.ParseForwardSignal(s)
		if err != nil {
			return nil, fmt.Errorf("process.forward_signals: %w", err)
		}
		out = append(out, sig)
	}
	return out, nil
}

// fileSinkOnly is cfg with every sink but the file sink left out.
func fileSinkOnly(cfg *config.Config) *config.Config {
	c := *cfg
	c.Sentry.DSN, c.Slack.WebhookURL, c.Slack.Token, c.Webhooks = "", "", "", nil
	on := true
	c.File.Enabled = &on
	return &c
}

// Reaps reports whether prodwrap reaps orphans with this configuration.
func Reaps(cfg *config.Config) bool { return cfg.Process.Subreaper || os.Getpid() == 1 }

// Run runs the command, once or again as the restart policy says, reports
// each abnormal end, and returns the status prodwrap exits with: the last
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
	forward, err := ForwardSignals(cfg)
	if err != nil {
		return ExitFailure, err
	}
	gate := supervise.NewLineGate(stderr)
	sigs := o.Signals
	if sigs == nil {
		sigs = signals.Register(forward, Reaps(cfg), nil)
		defer sigs.Stop()
	}

	var m *metrics.Metrics
	if cfg.Metrics.Listen != "" || cfg.Metrics.Textfile != "" {
		m = metrics.New()
	}
	var warnings []string
	for _, u := range config.UnknownEnv(o.Env, append(knownEnv, o.KnownEnv...)...) {
		warnings = append(warnings, u.String())
	}
	ropts := ReporterOptions{
		Config: cfg, Env: o.Env, Log: gate.Log(), Terminal: IsTerminal(stderr),
		Metrics: m, OnReport: o.OnReport, Wrap: o.Wrap,
		ConfigErrors: o.ConfigErrors, Warnings: warnings,
	}
	rep, err := NewReporter(ropts)
	if err != nil && !cfg.Strict {
		// The service comes first: with sinks that cannot be set up, the
		// child still runs, reported to the file sink alone.
		fileOnly := fileSinkOnly(cfg)
		ropts.Config = fileOnly
		ropts.ConfigErrors = append(slices.Clone(ropts.ConfigErrors), fmt.Sprintf("sinks: %v; reporting to the file sink only", err))
		rep, err = NewReporter(ropts)
	}
	if err != nil {
		return ExitFailure, err
	}
	sigs.SetLogger(rep.Logger())
	if cfg.Metrics.Listen != "" {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		addr, err := m.Serve(ctx, cfg.Metrics.Listen)
		switch {
		case err != nil && cfg.Strict:
			return ExitFailure, err
		case err != nil:
			rep.Logger().Error("cannot serve metrics; running without the listener", "err", err)
		default:
			rep.Logger().Debug("serving metrics", "addr", addr.String())
		}
	}

	ann := newAnnouncer(cfg, o.Env, stderr, rep.Logger(), m)
	defer ann.close()
	rep.afterDelivery = ann.delivered
	w := &watcher{o: o, cfg: cfg, stderr: stderr, gate: gate, logger: rep.Logger(),
		rep: rep, sigs: sigs, forward: forward, metrics: m, policy: newRestartPolicy(cfg), ann: ann}
	// The build information is read once, when the first report needs it:
	// a clean exit never reads it, and the child's start does not wait for it.
	w.build = sync.OnceValue(func() report.Build { return readBuild(o.Path, w.logger) })
	w.health = newHealth(cfg, rep, w.build, o.Env)
	code := w.loop()
	if w.exitBy.IsZero() {
		w.exitBy = time.Now().Add(rep.deadline())
	}
	abortCtx, cancelAbort := sigs.AbortContext(context.Background())
	w.health.close(abortCtx, w.exitBy)
	cancelAbort()
	rep.Close(sigs.Aborted(), w.exitBy)
	return code, nil
}

// watcher runs the child, once or again under a restart policy, and
// reports each abnormal end. It is used by Run's goroutine only.
type watcher struct {
	o       Options
	cfg     *config.Config
	stderr  *os.File
	gate    *supervise.LineGate
	logger  *slog.Logger
	rep     *Reporter
	sigs    *signals.Owner
	forward []os.Signal
	build   func() report.Build
	metrics *metrics.Metrics // nil when off
	policy  *restartPolicy
	ann     *announcer
	health  *health // sessions and check-ins; nil when off
	// flushOnce starts the background flush of earlier reports.
	flushOnce sync.Once
	// exitBy is when delivery must end once no child will run again: the
	// delivery deadline, counted once for everything left to deliver (the
	// last report, the give-up report, the background queue).
	exitBy time.Time
}

// loop runs the child until the policy or a stop says no more, and
// returns the last status.
func (w *watcher) loop() int {
	code := 0
	for restart := 0; ; restart++ {
		select {
		case <-w.sigs.Stopping():
			w.logger.Info("stopped before the next start", "signal", unix.SignalName(w.sigs.Stopped()))
			return ExitSignalsBase + int(w.sigs.Stopped())
		default:
		}
		res, started := w.runChild()
		if !started {
			return res.code
		}
		w.health.ended(res.code, res.uptime, res.report, res.stopped)
		code = res.code
		again, gaveUp := false, false
		w.sigs.Settle()
		select {
		case <-w.sigs.Stopping():
		default:
			again, gaveUp = w.policy.again(code)
		}
		if !again {
			w.exitBy = time.Now().Add(w.rep.deadline())
		}
		if res.report != nil {
			w.ann.crashed(res.report, !again)
			w.rep.Enqueue(res.report)
		}
		if !again {
			// Everything queued is delivered, in order, by exitBy; the
			// give-up report and the flood summaries come after the crash
			// reports they sum up.
			w.rep.Finish(w.sigs.Aborted(), w.exitBy)
			if gaveUp {
				w.giveUp(res.report)
			}
			return code
		}
		delay := w.policy.delay(res.uptime)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-w.sigs.Stopping():
			// No child runs to give a status: 128+N, as if the signal had
			// ended one (README, "Supervisor mode").
			t.Stop()
			w.logger.Info("stopped during the restart delay", "signal", unix.SignalName(w.sigs.Stopped()))
			return ExitSignalsBase + int(w.sigs.Stopped())
		}
		w.logger.Info("restarting", "restart", restart+1, "last_status", code)
	}
}

// deliver delivers rep in the foreground, before prodwrap exits: by
// exitBy, cut short by a second stop signal.
func (w *watcher) deliver(rep *report.Report) {
	ctx, cancel := w.sigs.AbortContext(context.Background())
	defer cancel()
	ctx, cancelDeadline := context.WithDeadline(ctx, w.exitBy)
	defer cancelDeadline()
	w.rep.Deliver(ctx, rep)
}

// giveUp reports that the restarts stopped: the last crash's report was
// queued or delivered; this one says no restart follows.
func (w *watcher) giveUp(last *report.Report) {
	if last == nil {
		return
	}
	w.deliver(w.rep.GaveUp(last, w.policy.recent(), w.policy.window))
	ctx, cancel := w.sigs.AbortContext(context.Background())
	defer cancel()
	ctx, cancelDeadline := context.WithDeadline(ctx, w.exitBy)
	defer cancelDeadline()
	w.rep.CloseFloodWindows(ctx, last.Service)
}

// run is what one run of the child left.
type run struct {
	code   int
	uptime time.Duration
	report *report.Report // nil for a clean exit
	// stopped: the signal that ended the child is a stop signal that
	// prodwrap forwarded (a stop of the service, not a kill from elsewhere).
	stopped bool
}

// runChild runs the child once and builds the report of an abnormal end.
// started is false when the command could not start at all (it is not
// restarted); code is then 127, 126 or 125.
func (w *watcher) runChild() (run, bool) {
	child := w.newChild()
	if err := child.Start(); err != nil {
		w.sigs.Idle()
		fmt.Fprintf(w.gate.Log(), "prodwrap: %v\n", err)
		return run{code: supervise.ExitCode(err)}, false
	}
	// What earlier runs left in the spool is flushed beside the first
	// child, after its start: the start does not wait for it.
	w.flushOnce.Do(w.rep.FlushInBackground)
	w.metrics.Started(time.Now())
	w.health.started(time.Now())
	res, err := child.Wait()
	if err != nil {
		w.health.ended(ExitFailure, 0, nil, false)
		w.sigs.Idle()
		w.metrics.Exited("unknown")
		fmt.Fprintf(w.gate.Log(), "prodwrap: %v\n", err)
		return run{code: ExitFailure}, false
	}
	w.sigs.Idle(append(res.Forwarded, res.Received...)...)
	defer w.writeTextfile()
	if res.Dump != nil {
		defer res.Dump.Close()
	}
	w.logger.Debug("child exited", "pid", res.PID, "status", res.ExitCode, "uptime", res.Uptime(), "dump_bytes", dumpSize(res))
	if err := w.gate.Flush(); err != nil {
		w.logger.Debug("cannot write held log lines", "err", err)
	}
	out := run{code: res.ExitCode, uptime: res.Uptime(), stopped: stopSignal(res.Signal) && slices.Contains(res.Forwarded, res.Signal)}
	if res.ExitCode == 0 {
		w.metrics.Exited("clean")
		return out, true // a clean exit is never reported, whatever it printed
	}
	if err := w.gate.EndChildLine(); err != nil {
		w.logger.Debug("cannot end the child's last line", "err", err)
	}
	if res.OutputTruncated {
		w.logger.Warn("the child's stderr was still open after the drain timeout (a grandchild holds it); the report's output is cut", "drain_timeout", time.Duration(w.cfg.Capture.DrainTimeout).String())
	}
	out.report = w.reportOf(res)
	w.metrics.Exited(string(out.report.Crash.Kind))
	return out, true
}

func (w *watcher) newChild() *supervise.Child {
	cfg := w.cfg
	path, argv0, args := w.o.Path, w.o.Argv0, w.o.Args
	if w.o.ExecSelf && socketActivated(lookup(w.o.Env)) {
		if p, a0, a, ok := trampoline(path, argv0, args); ok {
			path, argv0, args = p, a0, a
		}
	}
	return &supervise.Child{
		Path:         path,
		Argv0:        argv0,
		Args:         args,
		Env:          w.ann.childEnv(append(ChildEnv(cfg, w.o.Env), w.o.ExtraEnv...)),
		Stdin:        w.o.Stdin,
		Stdout:       w.o.Stdout,
		Stderr:       w.gate.Child(),
		Signals:      w.sigs.Child(),
		Forward:      w.forward,
		ProcessGroup: cfg.Process.ProcessGroup,
		Subreaper:    cfg.Process.Subreaper,
		WaitDelay:    time.Duration(cfg.Capture.DrainTimeout),
		Capture: supervise.Capture{
			TailLines:  cfg.Capture.TailLines,
			MaxLine:    int(cfg.Capture.MaxLine),
			MaxDump:    int64(cfg.Capture.MaxDump),
			MemoryDump: int(cfg.Capture.MemoryDump),
			SpillDir:   w.rep.SpoolDir(),
			StartsDump: DumpDetector(),
		},
		Logger:  w.logger,
		OnPanic: func(any) { w.metrics.InternalError() },
	}
}

// reportOf builds the report of a child that ended abnormally.
func (w *watcher) reportOf(res *supervise.Result) *report.Report {
	build := w.build()
	var output []byte
	if res.Dump != nil {
		output = res.Dump.Bytes(report.MaxOutput)
	}
	return w.rep.New(report.Input{
		Crash:     crashOf(res, build, w.logger),
		Exit:      ExitOf(res),
		OOMKilled: res.OOMKilled,
		Path:      w.o.Path,
		Args:      w.o.Args,
		PID:       res.PID,
		Tail:      res.Tail,
		Output:    output,
		OutputTruncated: res.OutputTruncated ||
			(res.Dump != nil && (res.Dump.Truncated || res.Dump.Size() > int64(len(output)))),
		Build:   build,
		Restart: w.policy.count,
	})
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
	code := res.ExitCode
	if res.Signal != 0 {
		code = 0 // 128+N is prodwrap's status, not the child's
	}
	c := ParseCrash(in, build, code, res.Signal, logger)
	if c != nil && res.Dump != nil && res.Dump.Truncated {
		c.Truncated = true
	}
	return c
}

// ParseCrash parses crash output with the program's build information (its
// main module decides which frames are the program's own) and how the
// process ended, when known (code: its exit status, sig: the signal that
// ended it; 0 for unknown: they confirm or rule out stacks whose header was
// lost, parse.Options.ExitCode); nil when the output holds no crash or
// cannot be parsed (logged: the exit is still reported).
func ParseCrash(in io.Reader, build report.Build, code int, sig syscall.Signal, logger *slog.Logger) *parse.Crash {
	opts := parse.DefaultOptions()
	opts.MainModule = build.MainModule
	opts.ExitCode, opts.ExitSignal = code, int(sig)
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
