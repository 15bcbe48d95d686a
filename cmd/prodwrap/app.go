package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/prodwrap/prodwrap/internal/watch"
)

// Exit statuses of prodwrap's own sub-commands (design.md, "Command line");
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
	if len(args) > 0 {
		switch args[0] {
		case "parse":
			return runParse(args[1:], env, std)
		case "send":
			return runSend(args[1:], env, std)
		case "flush":
			return runFlush(args[1:], env, std)
		case "check-config":
			return runCheckConfig(args[1:], env, std)
		case "version":
			return runVersion(args[1:], std)
		case "help":
			printUsage(std.out)
			return exitOK
		}
	}
	return runWatch(args, env, std)
}

// fail prints err as prodwrap's one-line error and returns exitFailure.
func fail(w io.Writer, err error) int {
	fmt.Fprintf(w, "prodwrap: %v\n", err)
	return exitFailure
}
