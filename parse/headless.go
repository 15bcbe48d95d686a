package parse

import (
	"bytes"
	"strings"
)

// This file infers what happened from goroutine stacks whose header
// ("panic: ", "fatal error: ", "SIGQUIT: quit") a log pipeline lost: a dump
// that begins with "goroutine N [state]:" and no header before it. Stacks
// with no header are as often a program's own (debug.Stack, pprof, a
// recovered panic that net/http logs with runtime.Stack), so each rule
// below follows from what only a dying runtime prints, and a rule that
// only the exit status can confirm waits for it (Options.ExitCode).
//
// Rules, in order (the first that holds decides):
//
//  1. The process ended in a way the runtime does not end it after a dump
//     (Options.ExitCode not 2, Options.ExitSignal not SIGABRT; 0 is
//     unknown): the stacks are the program's own.
//  2. runtime.morestack or runtime.newstack among the first stack's
//     innermost frames, or in a "runtime stack:" section before it:
//     stack_overflow (runtime/stack.go newstack throws "stack overflow").
//  3. runtime.throw, runtime.fatal or their sync names in the first stack,
//     or a "runtime stack:" section before it (runtime/panic.go
//     fatalthrow prints the system stack of a throw first): fatal_error.
//     throw never returns, so no program logs such a stack; its message is
//     gone (a traceback prints a string argument as words: "{0x4a3e5c?,
//     0x15?}").
//  4. runtime/debug.Stack, runtime/debug.PrintStack or runtime/pprof in the
//     first stack: a logged stack, no crash.
//  5. When the stacks end: every goroutine that is not the runtime's own
//     blocked for good — on a channel, a select, a lock or a semaphore, none
//     running, runnable, in a system call, in IO wait or asleep:
//     deadlock, "all goroutines are asleep - deadlock!" (runtime/proc.go
//     checkdead throws only when every goroutine waits and no timer and no
//     poller can wake one; a logged dump always has its writer running).
//  6. At the end of the input (no other text after the last stack), with
//     exit status 2 or SIGABRT: the first
//     goroutine running is the one that panicked (runtime/panic.go
//     fatalpanic prints it first): panic; otherwise a SIGQUIT dump
//     (runtime/signal_unix.go sighandler prints every goroutine, whichever
//     ran): sigquit. A fatal error the program raised itself ("concurrent
//     map writes", runtime.fatal at GOTRACEBACK's default level hides its
//     runtime frames) reads as a panic here: the stacks cannot tell them
//     apart. The message is left empty.
//  7. Otherwise: logged stacks, no crash.
//
// Crash.Inferred names the rule that decided.

// firstStack is what the first stack of a headless dump says.
type firstStack int

const (
	firstStackDecided   firstStack = iota // the kind is known: the dump counts
	firstStackLogged                      // a program's own stack: no crash
	firstStackUndecided                   // the other stacks and the exit status decide
)

// innermostMachinery is how deep into the first stack rules 2 and 3 look:
// the runtime's own frames of a throw or a stack growth are the innermost.
const innermostMachinery = 8

// sigabrt is SIGABRT's number on every system Go runs on.
const sigabrt = 6

// exitContradicts reports whether the process ended in a way the runtime
// never ends it after printing a dump (rule 1).
func (p *parser) exitContradicts() bool {
	o := p.opts
	return o.ExitCode != 0 && o.ExitCode != 2 || o.ExitSignal != 0 && o.ExitSignal != sigabrt
}

// exitConfirms reports whether the process ended as the runtime ends it
// after a dump (rule 6).
func (p *parser) exitConfirms() bool {
	return p.opts.ExitCode == 2 || p.opts.ExitSignal == sigabrt
}

// inferFromFirstStack applies rules 1 to 4 to the first goroutine of a
// headless dump, when it ends.
func (d *dumpState) inferFromFirstStack(p *parser) firstStack {
	if p.exitContradicts() {
		return firstStackLogged
	}
	if d.overflowing() {
		d.infer(KindStackOverflow, "stack overflow", "the first stack grows its stack (runtime.morestack)")
		return firstStackDecided
	}
	g := &d.g
	for i, r := range g.raw {
		fn := g.arena[r.fn.start:r.fn.end]
		if loggedStack(fn) {
			return firstStackLogged
		}
		if i < innermostMachinery && throwing(fn) {
			d.infer(KindFatalError, "", "the first stack throws ("+string(fn)+")")
			return firstStackDecided
		}
	}
	if d.rtBefore {
		d.infer(KindFatalError, "", `a "runtime stack:" section before the first goroutine`)
		return firstStackDecided
	}
	return firstStackUndecided
}

// inferAtEnd applies rules 5 to 7 when a pending dump ends; it reports
// whether the dump counts.
func (d *dumpState) inferAtEnd(p *parser) bool {
	d.pending = false
	switch {
	case d.logged:
		return false
	case !d.notBlocked:
		d.infer(KindDeadlock, "all goroutines are asleep - deadlock!", "every goroutine is blocked for good")
	case !p.atEOF || d.trailing > 0 || !p.exitConfirms():
		return false
	case d.crash.Goroutine != nil && d.crash.Goroutine.State == "running":
		d.infer(KindPanic, "", "exit status 2 and a running goroutine printed first")
	default:
		d.infer(KindSigquit, "", "exit status 2 and no goroutine running first")
	}
	return true
}

// infer sets what a headless dump was inferred to be; it counts.
func (d *dumpState) infer(kind Kind, msg, from string) {
	d.crash.Kind, d.crash.Message = kind, msg
	d.crash.Inferred = "header lost: " + from
	d.confirmed, d.weak = true, false
}

// loggedStack tells the functions through which a program prints its own
// stacks (rule 4).
func loggedStack(fn []byte) bool {
	return bytes.Equal(fn, []byte("runtime/debug.Stack")) || bytes.Equal(fn, []byte("runtime/debug.PrintStack")) ||
		bytes.HasPrefix(fn, []byte("runtime/pprof."))
}

// throwing tells the runtime's throw and fatal under the names the runtime
// and sync give them (rule 3; frames.go IsRuntimeFrame cites the sources).
func throwing(fn []byte) bool {
	switch string(fn) {
	case "runtime.throw", "runtime.fatal", "runtime.fatalthrow",
		"sync.throw", "sync.fatal", "internal/sync.throw", "internal/sync.fatal",
		"runtime_throw": // gccgo, libgo/runtime/panic.c
		return true
	}
	return false
}

// blockedForever tells the wait reasons of a goroutine that nothing but
// another goroutine can wake (rule 5): runtime/runtime2.go waitReasonStrings
// ("chan receive", "chan send (nil chan)", "select (no cases)",
// "semacquire", "sync.Mutex.Lock", "sync.WaitGroup.Wait", …; a synctest
// bubble adds a suffix, Go 1.25). "sleep" waits for a timer and "IO wait"
// for the poller: checkdead never fires while either can wake someone.
func blockedForever(state string) bool {
	return strings.HasPrefix(state, "chan receive") || strings.HasPrefix(state, "chan send") ||
		strings.HasPrefix(state, "select") || strings.HasPrefix(state, "sync.") ||
		strings.HasPrefix(state, "semacquire")
}

// systemGoroutine tells a goroutine the runtime started for itself (the
// garbage collector's workers, the finalizer goroutine), which GOTRACEBACK=system
// prints and checkdead ignores (runtime/traceback.go isSystemGoroutine: its
// start function is in package runtime, and it is not runtime.main).
func systemGoroutine(g *goroutineBuild) bool {
	return g.createdBy != nil && strings.HasPrefix(g.createdBy.Function, "runtime.")
}
