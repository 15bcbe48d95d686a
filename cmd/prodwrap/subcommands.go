package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/signals"
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
masked; comments at the top say what it gives with this environment:
the spool directory, the fallback in effect if any, and the sinks.
Exit status: 0 when valid, 125 otherwise.

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
	p, code, ok := startPipeline("send", sendUsage, args, env, std, false)
	if !ok {
		return code
	}
	defer p.stop()
	rest := p.rest
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
	rep, err := reportFromInput(in, p.reporter, p.cfg.Capture.TailLines, int(p.cfg.Capture.MaxLine))
	if errors.Is(err, parse.ErrNoCrash) {
		fmt.Fprintf(std.err, "prodwrap: send: no Go crash found in %s\n", label)
		return exitNoCrash
	}
	if err != nil {
		return fail(std.err, fmt.Errorf("send %s: %w", label, err))
	}
	out := p.reporter.Deliver(p.ctx, rep)
	if out == nil || !out.Complete() {
		return exitNoCrash
	}
	return exitOK
}

// pipeline is what send, flush and test share: their configuration, the
// report pipeline (logs and summaries on stderr), and a context that a
// stop signal ends (the signals are owned from the start).
type pipeline struct {
	loaded
	reporter *watch.Reporter
	ctx      context.Context
	stop     context.CancelFunc
}

// startPipeline loads the configuration of sub-command name leniently and
// builds its pipeline; ok is false when the sub-command ends at once with
// code (help, an error).
func startPipeline(name, usage string, args, env []string, std stdio, noArgs bool) (*pipeline, int, bool) {
	l, code, ok := loadFor(name, usage, args, env, std, noArgs, true)
	if !ok {
		return nil, code, false
	}
	sigs := signals.Register(nil, false, nil)
	reporter, err := watch.NewReporter(watch.ReporterOptions{
		Config: l.cfg, Env: env, Log: std.err, Terminal: watch.IsTerminal(std.err), ConfigErrors: l.errs,
	})
	if err != nil {
		return nil, fail(std.err, err), false
	}
	ctx, stop := sigs.StopContext(context.Background())
	return &pipeline{loaded: l, reporter: reporter, ctx: ctx, stop: stop}, 0, true
}

// maxReportJSON bounds a saved report JSON that send decodes; anything
// else is crash output, streamed.
const maxReportJSON = 32 << 20

// outputWindow is how much of the input send keeps, the last bytes read,
// to cut the report's output from where the chosen dump starts; a dump
// that starts earlier than that before the end of a stream (not a file,
// which is read again at the dump) has no output in the report.
const outputWindow = 8 << 20

// reportFromInput accepts a saved report JSON as it is, or parses crash
// output into a new report. The input is streamed: memory stays bounded
// whatever its size, and a crash at the end of a huge log is found.
func reportFromInput(in io.Reader, reporter *watch.Reporter, tailLines, maxLine int) (*report.Report, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(4096)
	var input io.Reader = br
	if t := bytes.TrimSpace(head); len(t) > 0 && t[0] == '{' {
		// A report JSON, or a log of JSON lines: only the first value is
		// decoded, and what the decoder read is read again by the parser.
		var seen bytes.Buffer
		var r report.Report
		err := json.NewDecoder(io.TeeReader(io.LimitReader(br, maxReportJSON), &seen)).Decode(&r)
		if err == nil && r.Schema == report.Schema && r.Crash != nil && r.ID != "" {
			return &r, nil
		}
		input = io.MultiReader(&seen, br)
	}
	saved, err := readSaved(in, input, parse.DefaultOptions(), logTailOptions{lines: tailLines, maxLine: maxLine})
	if err != nil {
		return nil, err
	}
	return reporter.New(saved.input()), nil
}

// logTailOptions bounds the log tail of a saved log as the run command's
// capture bounds the child's (capture.tail_lines, capture.max_line).
type logTailOptions struct{ lines, maxLine int }

// savedLog is what a saved log says of the crash it ends with.
type savedLog struct {
	crash  *parse.Crash
	output []byte   // the dump, from its first line, at most report.MaxOutput bytes
	tail   []string // the last lines before the dump
	// time is the log's own timestamp of the dump's first line, zero when
	// the line has none.
	time time.Time
}

// readSaved parses input, the bytes of in (the same, or in read through
// a buffer), streaming: memory stays bounded whatever its size. The dump's
// output and the lines before it are read again from in when it is a file,
// else taken from the window of the last bytes read.
func readSaved(in, input io.Reader, opts parse.Options, tailOpts logTailOptions) (*savedLog, error) {
	window := &tailWindow{max: outputWindow}
	c, err := parse.Parse(io.TeeReader(input, window), opts)
	if err != nil {
		return nil, err
	}
	s := &savedLog{crash: c, output: dumpOutput(in, window, c.Start)}
	tail := report.NewTail(tailOpts.lines, tailOpts.maxLine)
	writeBefore(tail, in, window, c.Start)
	s.tail = tail.Lines()
	first, _, _ := bytes.Cut(s.output, []byte{'\n'})
	if t, ok := report.LineTime(string(first), time.Now()); ok {
		s.time = t
	}
	return s, nil
}

// input is the report's input for a crash read from a saved log, whose
// exit prodwrap did not see.
func (s *savedLog) input() report.Input {
	in := report.Input{Crash: s.crash, Exit: report.Exit{Code: report.GoCrashStatus}, Output: s.output, Tail: s.tail}
	if !s.time.IsZero() {
		in.Now = func() time.Time { return s.time }
	}
	return in
}

// writeBefore writes to w the input's bytes before offset end: read again
// from a file, else those still in the window, from the first whole line.
func writeBefore(w io.Writer, in io.Reader, window *tailWindow, end int64) {
	if f, ok := in.(*os.File); ok {
		if n, err := io.Copy(w, io.NewSectionReader(f, 0, end)); err == nil || n > 0 {
			return // n > 0: a read error midway, the lines up to it kept
		}
	}
	first := max(window.written-int64(window.max), 0)
	if first > 0 {
		// The window starts within a line, most likely: its start is lost.
		w = &afterNewline{w: w}
	}
	window.writeRange(w, first, end)
}

// afterNewline drops what is written to it up to its first newline.
type afterNewline struct {
	w    io.Writer
	seen bool
}

func (a *afterNewline) Write(p []byte) (int, error) {
	n := len(p)
	if !a.seen {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, nil
		}
		a.seen, p = true, p[i+1:]
	}
	_, err := a.w.Write(p)
	return n, err
}

// dumpOutput is the crash output from start, at most report.MaxOutput
// bytes: read again from a file, else from the window of the stream.
func dumpOutput(in io.Reader, tail *tailWindow, start int64) []byte {
	if f, ok := in.(*os.File); ok {
		buf := make([]byte, report.MaxOutput)
		if n, err := f.ReadAt(buf, start); n > 0 || err == nil {
			return buf[:n]
		}
	}
	return tail.from(start, report.MaxOutput)
}

// tailWindow keeps the last max bytes written to it, in a ring allocated
// once, and knows their offset in the stream.
type tailWindow struct {
	max     int
	ring    []byte
	written int64 // bytes written in all
}

func (t *tailWindow) Write(p []byte) (int, error) {
	if t.ring == nil {
		t.ring = make([]byte, t.max)
	}
	n := len(p)
	if len(p) > t.max {
		t.written += int64(len(p) - t.max)
		p = p[len(p)-t.max:]
	}
	for len(p) > 0 {
		k := copy(t.ring[t.written%int64(t.max):], p)
		t.written += int64(k)
		p = p[k:]
	}
	return n, nil
}

// from returns at most n bytes from offset off, nil when they are no
// longer (or not yet) in the window.
func (t *tailWindow) from(off int64, n int) []byte {
	first := max(t.written-int64(t.max), 0)
	if off < first || off >= t.written {
		return nil
	}
	out := make([]byte, 0, min(int64(n), t.written-off))
	for off < t.written && len(out) < n {
		i := off % int64(t.max)
		end := min(int64(len(t.ring)), i+int64(n-len(out)), i+(t.written-off))
		out = append(out, t.ring[i:end]...)
		off += end - i
	}
	return out
}

// writeRange writes the bytes from offset off to end that are in the
// window to w, from the ring itself.
func (t *tailWindow) writeRange(w io.Writer, off, end int64) {
	off = max(off, t.written-int64(t.max), 0)
	end = min(end, t.written)
	for off < end {
		i := off % int64(t.max)
		j := min(int64(len(t.ring)), i+(end-off))
		if _, err := w.Write(t.ring[i:j]); err != nil {
			return
		}
		off += j - i
	}
}

// runFlush implements `prodwrap flush`.
func runFlush(args, env []string, std stdio) int {
	p, code, ok := startPipeline("flush", flushUsage, args, env, std, true)
	if !ok {
		return code
	}
	defer p.stop()
	res := p.reporter.Flush(p.ctx)
	fmt.Fprintf(std.out, "delivered %d, remaining %d", res.Delivered, res.Remaining)
	if res.Busy > 0 {
		fmt.Fprintf(std.out, " (%d being delivered by another process)", res.Busy)
	}
	fmt.Fprintln(std.out)
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
	// What the configuration gives here — the spool, its fallback, the
	// sinks — as comments, so that the output stays a configuration file.
	eff, err := watch.Describe(l.cfg, env)
	if err != nil {
		return fail(std.err, fmt.Errorf("check-config: %w", err))
	}
	if err := eff.WriteComments(std.out); err != nil {
		return fail(std.err, err)
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
