package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/supervise"
)

const parseUsage = `usage: prodwrap parse [--format json|text] [--module PATH] [--exit-code N] [FILE|-]

Reads a saved crash output (a service's stderr, a journal excerpt, a test
log) from FILE or standard input and prints the report of the crash it ends
with: the report JSON (host and command left empty: the input does not say
them), or with --format text a readable summary. The report's log_tail
holds the last lines before the dump, and its time is the log's own
timestamp of the crash (RFC 3339, journald, Kubernetes, slog JSON) when the
log has one. --exit-code gives the status the process ended with, when
the log says it elsewhere (systemd's "status=2"): 2, the Go runtime's,
lets goroutine stacks whose header was lost count as a crash; any other
status makes them the program's own.

Exit status: 0 when a crash was found, 1 when the input holds none, 125 on
error.

Examples:
  journalctl -u api -o cat --since -10min | prodwrap parse --format text
  prodwrap parse --module example.com/api crash.log > report.json
`

// runParse implements `prodwrap parse`.
func runParse(args, _ []string, std stdio) int {
	fs := flag.NewFlagSet("prodwrap parse", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, parseUsage) }
	format := fs.String("format", "json", "output `format`: json or text")
	module := fs.String("module", "", "main module `path` of the program, to tell its frames (in_app) from libraries'")
	exitCode := fs.Int("exit-code", 0, "exit `status` the process ended with, 1–255 (0: unknown)")
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if *exitCode < 0 || *exitCode > 255 {
		return fail(std.err, fmt.Errorf("parse: --exit-code %d: want 0 (unknown) to 255", *exitCode))
	}
	if *format != "json" && *format != "text" {
		return fail(std.err, fmt.Errorf("parse: --format %q: want json or text", *format))
	}
	if fs.NArg() > 1 {
		return fail(std.err, fmt.Errorf("parse: want at most one FILE, got %d arguments", fs.NArg()))
	}
	in, name, closeIn, err := openInput(fs.Arg(0), std.in)
	if err != nil {
		return fail(std.err, fmt.Errorf("parse: %w", err))
	}
	defer closeIn()

	opts := parse.DefaultOptions()
	opts.MainModule = *module
	opts.ExitCode = *exitCode
	saved, err := readSaved(in, in, opts, logTailOptions{lines: supervise.DefaultTailLines, maxLine: supervise.DefaultMaxLine})
	if errors.Is(err, parse.ErrNoCrash) {
		fmt.Fprintf(std.err, "prodwrap: parse: no Go crash found in %s\n", name)
		return exitNoCrash
	}
	if err != nil {
		return fail(std.err, fmt.Errorf("parse %s: %w", name, err))
	}
	if *format == "text" {
		err = parse.WriteText(std.out, saved.crash)
	} else {
		in := saved.input()
		in.Output = nil // as before: whoever runs parse has the input at hand
		rep := report.New(in)
		rep.Host = report.Host{} // the crash happened elsewhere: where, the input does not say
		err = writeJSON(std.out, rep)
	}
	if err != nil {
		return fail(std.err, fmt.Errorf("parse: write output: %w", err))
	}
	return exitOK
}

// openInput opens FILE, or standard input for "" and "-". name describes the
// input in messages.
func openInput(path string, stdin *os.File) (r io.Reader, name string, closeFn func(), err error) {
	if path == "" || path == "-" {
		return stdin, "standard input", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err // *PathError names the file
	}
	return f, path, func() { f.Close() }, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// usageStatus maps a flag parsing error to an exit status: asking for help
// is not a failure; the flag package has already printed the message.
func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitFailure
}
