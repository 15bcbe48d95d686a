package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
)

// Exit statuses of prodwrap's own sub-commands (docs/architecture.md, "Exit status");
// the run command returns the child's (see watch.Run).
const (
	exitOK      = 0
	exitNoCrash = 1                 // prodwrap parse: the input holds no crash
	exitFailure = watch.ExitFailure // prodwrap failed before the child ran: bad flag, bad config
)

// stdio is the standard files prodwrap runs with. stdin and stdout are files
// so that the child inherits them as they are.
type stdio struct {
	in, out, err *os.File
}

// run is prodwrap's whole life: it picks the sub-command from args and
// returns the exit status. It never panics: a panic of prodwrap itself is
// reported on stderr with its stack and turned into exitFailure.
func run(args, env []string, std stdio) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(std.err, "prodwrap: internal error (a bug, please report it): %v\n%s", r, debug.Stack())
			code = exitFailure
		}
	}()
	if len(args) > 0 && args[0] == watch.ExecArg {
		// The child's first moment under socket activation: see
		// watch.ExecListenPID.
		return watch.ExecListenPID(args[1:], std.err)
	}
	// Global flags may stand before the sub-command as well as after it:
	// `prodwrap --config F check-config` is `prodwrap check-config --config F`.
	n := config.LeadingFlags(args)
	if n < len(args) {
		if sub, ok := subcommands[args[n]]; ok {
			rest := append(slices.Clone(args[:n]), args[n+1:]...)
			return sub(rest, env, std)
		}
	}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-V") {
		return runVersion(nil, std)
	}
	return runWatch(args, env, std)
}

// subcommands are prodwrap's sub-commands, by name; anything else is the
// run command's COMMAND.
var subcommands = map[string]func(args, env []string, std stdio) int{
	"parse":        runParse,
	"send":         runSend,
	"flush":        runFlush,
	"check-config": runCheckConfig,
	"test":         runTest,
	"version":      func(args, _ []string, std stdio) int { return runVersion(args, std) },
	"help": func(_, _ []string, std stdio) int {
		printUsage(std.out)
		return exitOK
	},
}

// fail prints err as prodwrap's one-line error and returns exitFailure.
func fail(w io.Writer, err error) int {
	fmt.Fprintf(w, "prodwrap: %v\n", err)
	return exitFailure
}
