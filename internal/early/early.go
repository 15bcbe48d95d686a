// Package early begins, while the program initialises, the work of
// prodwrap's start that needs neither its configuration nor its child:
// the registration of its signals ([signals.Early]) and, in the same
// goroutine after it, the preparation of the first child's start
// ([supervise.Prepare]: os's pidfd probe, the lookup of the cgroup's OOM
// counter and its first baseline). They run beside the packages that
// take longest to initialise (client_golang, sentry-go, net/http) instead
// of before the child's start: the registration is a round trip to the
// runtime's signal-mask thread per signal, the probe a fork. The
// sub-commands that own the signals but start no child (send, flush, test)
// prepare in vain, in the background. It is imported by cmd/prodwrap
// alone, for this side effect; a library never imports it.
//
// Go initialises a package after everything it imports, and otherwise in
// the order of the import paths, so this package (which imports only
// internal/signals, supervise and the standard library) runs its init
// before the slow ones; cmd/prodwrap's
// TestEarlyInitialisesBeforeTheSlowPackages checks the order in the built
// binary.
package early

import (
	"os"
	"slices"

	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/supervise"
)

// Quiet are the arguments that make an invocation one that begins nothing
// early and keeps Go's defaults: the sub-commands that start no child and
// deliver nothing (parse, check-config, version, help: `prodwrap parse
// big.log | head` ends on SIGPIPE, as a filter should, and stops at a ^Z),
// the help and version flags, and the first argument of the exec
// trampoline (watch.ExecArg), which must not catch a signal meant for the
// program it becomes. An invocation with one of them anywhere in its
// arguments begins nothing here: the init cannot parse the command line
// (the flags are config's, which initialises late), so a run whose child
// takes "help" as an argument merely starts without it, registering its
// signals in signals.Register as before. cmd/prodwrap's
// TestQuietInvocationsRegisterNothing checks the list against the
// sub-commands and the trampoline.
var Quiet = []string{
	"parse", "check-config", "version", "help",
	"-h", "-help", "--h", "--help", "-V", "--version",
	"__prodwrap-exec-listen-pid",
}

func init() {
	for _, arg := range os.Args[1:] {
		if slices.Contains(Quiet, arg) {
			return
		}
	}
	signals.Early(supervise.Prepare)
}
