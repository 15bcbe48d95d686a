package main

import (
	"fmt"
)

const testUsage = `usage: prodwrap test [flags]

Sends a test report to every configured sink (the file sink, Sentry,
Slack, each webhook) and prints one line per sink: delivered, or the
error. The report is marked as a test: its message says so
("prodwrap test report: not a crash..."), and it carries the tag
prodwrap_test=true. It never stays in the spool: a later flush does not
send it again.

Exit status: 0 when every sink acknowledged, 1 when one did not (each
failing sink is named) or the configuration has errors, 125 on error.
Flags are those of the run command (--config, --spool, ...).

Example, after configuring Sentry and Slack:
  prodwrap test --config /etc/prodwrap/api.toml
`

// runTest implements `prodwrap test`.
func runTest(args, env []string, std stdio) int {
	p, code, ok := startPipeline("test", testUsage, args, env, std, true)
	if !ok {
		return code
	}
	defer p.stop()
	results, err := p.reporter.SendTest(p.ctx)
	if err != nil {
		return fail(std.err, fmt.Errorf("test: %w", err))
	}
	status := exitOK
	for _, r := range results {
		switch {
		case r.Err != nil:
			fmt.Fprintf(std.out, "%s: FAILED: %v\n", r.Sink, r.Err)
			status = exitNoCrash
		case r.Where != "":
			fmt.Fprintf(std.out, "%s: delivered (%s)\n", r.Sink, r.Where)
		default:
			fmt.Fprintf(std.out, "%s: delivered\n", r.Sink)
		}
	}
	if len(p.errs) > 0 {
		fmt.Fprintf(std.out, "configuration: %d error(s), logged above; the sinks they name were not tested\n", len(p.errs))
		status = exitNoCrash
	}
	return status
}
