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
// input. A header ("panic: ", "fatal error: ", a runtime signal report) that
// no goroutine section, [signal] line or register dump confirms, and that
// is followed by more than two lines of other text, was a log line and is
// dropped; a header found in the middle of a line (a dump that began after a
// log line without its newline) counts only when confirmed.
//
// # Line grammar
//
// Each classifier in lines.go documents what it accepts in panicparse's
// terms (Regexp, Signature). Before classification a line loses its "\r"
// and any log-system prefix (journald/syslog, RFC 3339 timestamps and
// Kubernetes CRI "stderr F", Android "E/Go: "); frames whose leading tab
// became spaces are accepted.
//
// # Frames of interest
//
// top_frame, origin and culprit follow design.md: IsRuntimeFrame names the
// runtime's own machinery that top_frame skips; origin is the first frame
// below the outermost panic frame; culprit is the innermost in_app frame at
// or below origin. in_app comes from Options.MainModule when the caller
// knows it (prodwrap reads it from the binary's build information),
// otherwise from paths: GOROOT (learnt from the dump's own runtime frames),
// the module cache and vendor/ are not the program's.
//
// # Why not panicparse
//
// maruel/panicparse parses whole snapshots into memory (about 18× the
// dump's size) at about 16 MB/s, and reads source files from disk with its
// default options. prodwrap runs next to a dying service, so it streams and
// aggregates as it reads.
package parse
