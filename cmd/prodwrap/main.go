// Command prodwrap runs a Go program as its child, stays out of its way, and
// reports the child's crash when it dies abnormally. See the README for the
// command line (`prodwrap --help` prints it) and docs/architecture.md for
// how prodwrap is built.
//
// main only maps the result of run to an exit status: the child's status
// when prodwrap ran one, 125 when prodwrap itself failed first.
package main

import (
	"os"

	// Begins registering prodwrap's signals, and preparing the first
	// child's start, while the packages after it initialise
	// (internal/early).
	_ "github.com/prodwrap/prodwrap/internal/early"
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}
