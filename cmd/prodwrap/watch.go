package main

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
	"strings"
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

// runWatch is `prodwrap [flags] [--] COMMAND [ARGS...]`: run COMMAND, and
// report it if it dies abnormally. It returns the child's status.
func runWatch(args, env []string, std stdio) int {
	cfg, cmdArgs, err := config.Load(config.Options{Args: args, Env: env, Name: "prodwrap"})
	if errors.Is(err, config.ErrHelp) {
		printUsage(std.err)
		return exitOK
	}
	if err != nil {
		return fail(std.err, err)
	}
	if len(cmdArgs) == 0 {
		fmt.Fprintln(std.err, "prodwrap: no COMMAND given; see prodwrap --help")
		return exitFailure
	}
	signals, err := forwardSignals(cfg)
	if err != nil {
		return fail(std.err, err)
	}

	gate := supervise.NewLineGate(std.err)
	logger := newLogger(gate.Log(), cfg.Log.Format, logLevel(cfg.Log.Level), isTerminal(std.err))
	deliv, err := newDelivery(cfg, env, logger)
	if err != nil {
		return fail(std.err, err)
	}

	var m *metrics.Metrics
	if cfg.Metrics.Listen != "" || cfg.Metrics.Textfile != "" {
		m = metrics.New()
		deliv.disp.OnDelivered = func(sink string, err error, took time.Duration) {
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
			return fail(std.err, err)
		}
		logger.Debug("serving metrics", "addr", addr.String())
	}

	// What is left in the spool from earlier runs goes out in the
	// background; the child does not wait for it.
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		defer recoverLogged(logger, m, "background flush")
		deliv.flush(context.Background())
		m.SetSpool(deliv.pending())
	}()

	w := &watcher{
		cfg: cfg, path: cmdArgs[0], args: cmdArgs[1:], env: env, std: std,
		gate: gate, logger: logger, deliv: deliv, signals: signals, metrics: m,
	}
	w.build = readBuild(w.path, logger)
	policy := newRestartPolicy(cfg, logger)
	code := exitOK
	for restart := 0; ; restart++ {
		var uptime time.Duration
		var started bool
		code, uptime, started = w.runOnce(restart)
		if !started || w.stopRequested || !policy.again(code, restart) {
			break
		}
		if sig := sleepOrSignal(policy.delay(uptime)); sig != 0 {
			logger.Info("stopped during the restart delay", "signal", unix.SignalName(sig))
			code = exitSignalsBase + int(sig)
			break
		}
		logger.Info("restarting", "restart", restart+1, "last_status", code)
	}
	waitBounded(flushed, time.Second)
	return code
}

// watcher runs the child, once or again under a restart policy, and
// reports each abnormal end.
type watcher struct {
	cfg     *config.Config
	path    string
	args    []string
	env     []string
	std     stdio
	gate    *supervise.LineGate
	logger  *slog.Logger
	deliv   *delivery
	signals []os.Signal
	build   parse.Build
	metrics *metrics.Metrics // nil when off
	// stopRequested is set when a terminating signal reached prodwrap
	// during a run: it was forwarded, and the child is not restarted.
	stopRequested bool
}

// runOnce runs the child once and reports it when it died abnormally. It
// returns the child's status, how long it ran, and whether it started at
// all (a command that cannot start is not restarted).
func (w *watcher) runOnce(restart int) (code int, uptime time.Duration, started bool) {
	cfg, std, gate, logger, deliv := w.cfg, w.std, w.gate, w.logger, w.deliv
	path, build := w.path, w.build
	oomBefore, oomErr := report.OOMKills(0)
	child := &supervise.Child{
		Path:         path,
		Args:         w.args,
		Env:          cfg.ChildEnv(w.env),
		Stdin:        std.in,
		Stdout:       std.out,
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
			SpillDir:   deliv.spool.Dir(),
			StartsDump: dumpDetector(),
		},
		Logger:  logger,
		OnPanic: func(any) { w.metrics.InternalError() },
	}
	if err := child.Start(); err != nil {
		fmt.Fprintf(std.err, "prodwrap: %v\n", err)
		return supervise.ExitCode(err), 0, false
	}
	w.metrics.Started(time.Now())
	res, err := child.Wait()
	if err != nil {
		w.metrics.Exited("unknown")
		fmt.Fprintf(std.err, "prodwrap: %v\n", err)
		return exitFailure, 0, false
	}
	defer w.writeTextfile()
	if res.Dump != nil {
		defer res.Dump.Close()
	}
	for _, sig := range res.Forwarded {
		switch sig {
		case syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT:
			w.stopRequested = true
		}
	}
	logger.Debug("child exited", "pid", res.PID, "status", res.ExitCode, "uptime", res.Uptime(), "dump_bytes", dumpSize(res))
	if err := gate.Flush(); err != nil {
		logger.Debug("cannot write held log lines", "err", err)
	}
	if res.ExitCode == 0 {
		w.metrics.Exited("clean")
		return exitOK, res.Uptime(), true // a clean exit is never reported, whatever it printed
	}
	if err := gate.EndChildLine(); err != nil {
		logger.Debug("cannot end the child's last line", "err", err)
	}

	crash := crashOf(res, build, logger)
	oomKilled := false
	if res.Signal == syscall.SIGKILL && oomErr == nil {
		if n, err := report.OOMKills(0); err == nil && n > oomBefore {
			oomKilled = true
		}
	}
	var output []byte
	if res.Dump != nil {
		output = res.Dump.Bytes(report.MaxOutput)
	}
	rep := report.New(report.Input{
		Crash:           crash,
		Exit:            exitOf(res),
		OOMKilled:       oomKilled,
		Path:            path,
		Args:            w.args,
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

	// Delivery is bounded by the deadline and cut short by SIGTERM/SIGINT:
	// what is not delivered stays spooled.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	w.metrics.Exited(string(rep.Crash.Kind))
	deliv.report(ctx, rep, std.err)
	w.metrics.SetSpool(deliv.pending())
	return res.ExitCode, res.Uptime(), true
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
func crashOf(res *supervise.Result, build parse.Build, logger *slog.Logger) *parse.Crash {
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
	if res.Dump != nil && res.Dump.Truncated {
		c.Truncated = true
	}
	return c
}

func exitOf(res *supervise.Result) parse.Exit {
	e := parse.Exit{Code: res.ExitCode, CoreDumped: res.CoreDumped, UptimeMS: res.Uptime().Milliseconds()}
	if res.Signal != 0 {
		name := unix.SignalName(res.Signal)
		e.Signal = &name
		e.SignalNumber = int(res.Signal)
	}
	return e
}

// readBuild reads the child binary's build information; a program that is
// not a Go binary (a shell script) simply has none.
func readBuild(path string, logger *slog.Logger) parse.Build {
	resolved, err := exec.LookPath(path)
	if err != nil {
		return parse.Build{}
	}
	b, err := report.ReadBuild(resolved)
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

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func waitBounded(c <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c:
	case <-t.C:
	}
}

// recoverLogged is deferred at the top of prodwrap's own goroutines: a
// panic there is a bug of prodwrap's, logged with its stack, and must not
// take the child down.
func recoverLogged(logger *slog.Logger, m *metrics.Metrics, where string) {
	if v := recover(); v != nil {
		m.InternalError()
		logger.Error("internal error (a bug, please report it)", "where", where, "panic", fmt.Sprint(v), "stack", string(debugStack()))
	}
}

func dumpSize(res *supervise.Result) int64 {
	if res.Dump == nil {
		return 0
	}
	return res.Dump.Size()
}

// dumpDetector tells supervise where the dump starts: at the first line
// parse.StartsDump accepts (a header, or a goroutine section after a header
// that began mid-line). supervise asks again only once a capture was cut at
// its cap; then only a new header may start a new capture, not one of the
// goroutine sections of the same huge dump, so that the head of the dump —
// its header and the crashing goroutine — is what is kept.
func dumpDetector() func(line []byte) bool {
	started := false
	return func(line []byte) bool {
		if started {
			return parse.StartsHeader(line)
		}
		started = parse.StartsDump(line)
		return started
	}
}
