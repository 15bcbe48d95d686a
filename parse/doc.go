// Package parse turns a Go program's crash output into a typed Crash: what
// the runtime printed about how the program died, and where in the input
// the dump that says so starts (Crash.Start). The report built from it lives
// in package report.
//
// It is pure: bytes in, values out. No exec, network, clock or file system;
// the only I/O is the io.Reader it is given.
//
// # Model
//
// Parse reads the child's stderr — log lines, then the dump — line by line
// through a bounded buffer, and keeps only what the report needs:
//
//   - the crashing goroutine (the first one printed after the header) in
//     full, up to Options.MaxFrames frames;
//   - every other goroutine folded into a Bucket keyed by a hash of its
//     state and its stack (functions, files and lines; arguments, which hold
//     pointers and "?", are ignored), with a count and a few ids;
//   - the header: kind, message (multi-line messages joined), the re-panic
//     chain, the signal.
//
// Memory is bounded by the caps of Options whatever the input: a million
// goroutines cost one hash and a counter increment each.
//
// The report describes the dump that ended the process: the last one in the
// input; Crash.Start says where it begins. A header that no goroutine
// section, [signal] line, PC= line or register dump confirms is a log line
// when more than two lines of other text follow it, and always for
// "panic: " and the runtime's signal reports, which the runtime never
// prints alone (a bare "panic: boom" is ErrNoCrash). A header found in the
// middle of a line (a dump that began after a log line without its
// newline) counts only when confirmed.
//
// # Headers lost or cut
//
// What a pipeline dropped is inferred from what the runtime prints around
// it, and counts only when confirmed: a terminal's echo before the header
// ("^\SIGQUIT: quit"); the end of a cut header ("error: unexpected signal
// during runtime execution"); the "runtime: goroutine stack exceeds" and
// "runtime: out of memory: cannot allocate" lines the runtime prints right
// before it throws. Goroutine stacks with no header before them are as
// often a program's own (debug.Stack, pprof, net/http's log of a recovered
// panic); they count only on what a dying runtime alone leaves, each rule
// cited from the runtime's source in headless.go: a stack growing itself
// (runtime.morestack: stack_overflow), a throw in the first stack or a
// "runtime stack:" section before it (fatal_error), every goroutine
// blocked for good (deadlock), and — only with Options.ExitCode 2 or
// ExitSignal SIGABRT, the statuses the runtime ends a process with after a
// dump — stacks that end the output (panic when a running goroutine comes
// first, sigquit otherwise). Crash.Inferred names the evidence; the message
// is left empty where the stacks cannot tell it.
//
// # Line grammar
//
// Each classifier in lines.go documents what it accepts in panicparse's
// terms (Regexp, Signature), and the runtime source it follows. Before
// classification a line loses its "\r" and up to three log-system prefixes,
// recognised on each line by itself so that they may mix: syslog and
// journald (short, short-precise, short-iso, short-monotonic), RFC 3339
// and Go log timestamps, Kubernetes CRI "stderr F", dmesg "[   12.345678]",
// CI runners' "##[error]", Android logcat (brief, threadtime), docker
// compose "api-1  | ", svlogd/multilog TAI64N. Lines a pipeline wrapped
// at a fixed width are joined again (wrap.go): the width is learnt from the
// first line of a usual width (80, 120, 160…) that looks like a piece of a
// dump and whose next line does not start a dump line — the width of the
// text after the prefixes when each piece has its own, of the whole line
// when the later pieces are bare. A file line may be indented
// by a tab, spaces, Unicode spaces or nothing. Windows exception reports
// (runtime/signal_windows.go), gccgo tracebacks (frames without arguments
// or offsets) and race reports of every ThreadSanitizer since Go 1.1 are
// read as their own formats.
//
// # Frames of interest
//
// top_frame, origin and culprit follow docs/architecture.md, "Report
// model": IsRuntimeFrame names the runtime's own machinery that top_frame skips (also under the names
// sync and internal/sync give throw and fatal, functions whose file is the
// runtime's, and gccgo's runtime); origin is the first frame
// below the outermost panic frame; culprit is the innermost in_app frame at
// or below origin. in_app comes from Options.MainModule when the caller
// knows it (prodwrap reads it from the binary's build information),
// otherwise from paths: GOROOT (learnt from the dump's own runtime frames),
// the module cache and vendor/ are not the program's, nor is the code cgo
// generates (main._Cfunc_* in _cgo_gotypes.go): its Go caller is the
// culprit.
//
// # Why not panicparse
//
// maruel/panicparse parses whole snapshots into memory (about 18× the
// dump's size) at about 16 MB/s, and reads source files from disk with its
// default options. prodwrap runs next to a dying service, so it streams and
// aggregates as it reads.
package parse
