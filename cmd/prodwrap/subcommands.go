package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

const sendUsage = `usage: prodwrap send [flags] [FILE|-]

Reports a saved crash output (a service's stderr, a journal excerpt) or a
saved report JSON to the configured sinks, through the spool.

Exit status: 0 when every sink acknowledged, 1 when the input holds no
crash or a sink did not acknowledge (the report stays in the spool), 125
on error. Flags are those of the run command (--config, --spool, ...).

Example:
  journalctl -u api -o cat --since -10min | prodwrap send --service api
`

const flushUsage = `usage: prodwrap flush [flags]

Delivers every report the spool holds to the configured sinks.

Exit status: 0 when the spool is empty afterwards, 1 when reports remain,
125 on error. Flags are those of the run command (--config, --spool, ...).

Example, after fixing a revoked Slack token in the configuration:
  prodwrap flush --config /etc/prodwrap/api.toml
`

const checkConfigUsage = `usage: prodwrap check-config [flags]

Validates the configuration (file, environment, flags) and prints the
effective configuration as TOML, each value with its source, secrets
masked. Exit status: 0 when valid, 125 otherwise.

Example:
  prodwrap check-config --config /etc/prodwrap/api.toml
`

// loaded is a sub-command's configuration.
type loaded struct {
	cfg  *config.Config
	rest []string // the arguments after the flags
	// errs are the configuration's errors when it was loaded leniently.
	errs []string
}

// loadFor loads the configuration for a sub-command; noArgs refuses
// arguments after the flags. A lenient load (send, flush) goes on with
// what is valid, as the run command does; check-config is strict.
func loadFor(name, usage string, args, env []string, std stdio, noArgs, lenient bool) (loaded, int, bool) {
	cfg, rest, err := config.Load(config.Options{Args: args, Env: env, Name: "prodwrap " + name, NoCommand: noArgs, Lenient: lenient})
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprint(std.err, usage)
		fmt.Fprintln(std.err, "\nflags:")
		config.FlagUsage(std.err)
		return loaded{}, exitOK, false
	}
	if cfg == nil || (err != nil && !lenient) {
		return loaded{}, fail(std.err, err), false
	}
	return loaded{cfg: cfg, rest: rest, errs: watch.ConfigErrors(err)}, 0, true
}

// runSend implements `prodwrap send`.
func runSend(args, env []string, std stdio) int {
	l, code, ok := loadFor("send", sendUsage, args, env, std, false, true)
	if !ok {
		return code
	}
	rest := l.rest
	if len(rest) > 1 {
		return fail(std.err, fmt.Errorf("send: want at most one FILE, got %d arguments", len(rest)))
	}
	name := ""
	if len(rest) == 1 {
		name = rest[0]
	}
	in, label, closeIn, err := openInput(name, std.in)
	if err != nil {
		return fail(std.err, fmt.Errorf("send: %w", err))
	}
	defer closeIn()
	data, err := io.ReadAll(io.LimitReader(in, 1<<30))
	if err != nil {
		return fail(std.err, fmt.Errorf("send: read %s: %w", label, err))
	}
	sigs := watch.NotifySignals(nil, false, nil)
	reporter, err := newReporter(l, env, std)
	if err != nil {
		return fail(std.err, err)
	}
	rep, err := reportFromInput(data, reporter)
	if errors.Is(err, parse.ErrNoCrash) {
		fmt.Fprintf(std.err, "prodwrap: send: no Go crash found in %s\n", label)
		return exitNoCrash
	}
	if err != nil {
		return fail(std.err, fmt.Errorf("send %s: %w", label, err))
	}
	ctx, stop := sigs.StopContext(context.Background())
	defer stop()
	out := reporter.Deliver(ctx, rep)
	if out == nil || !out.Complete() {
		return exitNoCrash
	}
	return exitOK
}

// newReporter is the report pipeline of a sub-command: logs and summaries
// on stderr.
func newReporter(l loaded, env []string, std stdio) (*watch.Reporter, error) {
	return watch.NewReporter(watch.ReporterOptions{
		Config: l.cfg, Env: env, Log: std.err, Terminal: watch.IsTerminal(std.err), ConfigErrors: l.errs,
	})
}

// reportFromInput accepts a saved report JSON as it is, or parses crash
// output into a new report.
func reportFromInput(data []byte, reporter *watch.Reporter) (*report.Report, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var r report.Report
		if err := json.Unmarshal(t, &r); err == nil && r.Schema == report.Schema && r.Crash != nil && r.ID != "" {
			return &r, nil
		}
	}
	c, err := parse.Parse(bytes.NewReader(data), parse.DefaultOptions())
	if err != nil {
		return nil, err
	}
	out := data[min(max(c.Start, 0), int64(len(data))):]
	return reporter.New(report.Input{
		Crash:  c,
		Exit:   report.Exit{Code: report.GoCrashStatus},
		Output: out,
	}), nil
}

// runFlush implements `prodwrap flush`.
func runFlush(args, env []string, std stdio) int {
	l, code, ok := loadFor("flush", flushUsage, args, env, std, true, true)
	if !ok {
		return code
	}
	sigs := watch.NotifySignals(nil, false, nil)
	reporter, err := newReporter(l, env, std)
	if err != nil {
		return fail(std.err, err)
	}
	ctx, stop := sigs.StopContext(context.Background())
	defer stop()
	res := reporter.Flush(ctx)
	fmt.Fprintf(std.out, "delivered %d, remaining %d\n", res.Delivered, res.Remaining)
	if res.Remaining > 0 || len(res.Errors) > 0 {
		return exitNoCrash
	}
	return exitOK
}

// runCheckConfig implements `prodwrap check-config`.
func runCheckConfig(args, env []string, std stdio) int {
	l, code, ok := loadFor("check-config", checkConfigUsage, args, env, std, true, false)
	if !ok {
		return code
	}
	if err := l.cfg.WriteTOML(std.out); err != nil {
		return fail(std.err, err)
	}
	return exitOK
}

const usage = `usage:
  prodwrap [flags] [--] COMMAND [ARGS...]      run and watch COMMAND
  prodwrap parse [--format json|text] [--module PATH] [FILE|-]
                                               print the report of a saved crash output
  prodwrap send [FILE|-]                       report a saved crash output to the configured sinks
  prodwrap flush                               deliver what the spool holds
  prodwrap check-config                        validate the configuration, print it with secrets masked
  prodwrap test                                send a test report to every configured sink, one line each
  prodwrap version                             print the version

prodwrap runs COMMAND as its child — stdin and stdout inherited, stderr
passed through, signals forwarded — and when it dies abnormally, reports
the crash (to a JSON file and stderr by default; Sentry, Slack and webhooks
by configuration). It exits with the child's status: the child's code, 128+N
when signal N killed it, 127 when COMMAND was not found, 126 when it could
not be executed, 125 when prodwrap itself failed first.

Examples:
  prodwrap -- /srv/api --port 8080
  prodwrap --config /etc/prodwrap/api.toml --service api -- /srv/api
  PRODWRAP_SPOOL=$PWD/.prodwrap prodwrap -g -- ./worker

flags:
`

func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	config.FlagUsage(w)
	fmt.Fprintln(w, "\nenvironment:")
	config.EnvUsage(w)
	fmt.Fprintln(w, "\n`prodwrap COMMAND --help` describes each sub-command.")
}
