// Package selfwrap gives a Go program prodwrap's crash reports with one call
// at the top of main, for teams that can change main but not the unit file
// or the image that starts the program:
//
//	func main() {
//		selfwrap.Main(selfwrap.Options{Mode: selfwrap.Monitor})
//		// the program, as before
//	}
//
// The crash goes the same way as under the prodwrap command — parse, report,
// spool, sinks — with the same configuration (a prodwrap TOML file,
// PRODWRAP_* variables, or a config.Config given inline).
//
// # Two modes
//
// ReExec (github.com/mitchellh/panicwrap's way): the process that called Wrap
// becomes a watcher, exactly like `prodwrap -- program`: it runs the same
// executable again, with the same arguments and environment plus
// panicwrap's cookie variable, as its child, passes stderr through, forwards
// signals, and exits with the child's status. The program runs as that
// child. Everything the prefix command catches is caught: panics, every
// fatal error, signal reports, SIGQUIT dumps, race reports, log.Fatal and
// os.Exit(N), deaths by SIGKILL or an unhandled SIGTERM; and restarts,
// metrics and the stderr tail work as there. The costs: the program gets a
// new PID (the watcher keeps the original one, so a pid file or
// systemd's MainPID names the watcher, which forwards signals), and two
// processes run.
//
// panicwrap.Wrap itself is not used to run the child, because three of its
// behaviours cannot be fixed from outside it: it recognises a crash only
// by "panic:" or "fatal error: fault" followed by an exit within 300 ms
// (every other fatal error, signal report and SIGQUIT dump is missed),
// buffering the panic's text in memory meanwhile; it returns -1 for a child
// killed by a signal, losing which; and it forwards only the signals it is
// given. selfwrap keeps panicwrap's protocol — its cookie variable, so
// panicwrap.Wrapped(nil) is true in the program as under panicwrap, and a
// program moving from panicwrap keeps working — and runs the child with
// prodwrap's supervisor: every non-zero exit is a crash to report, parsed
// by package parse; a signal death returns 128+N; the default signals are
// forwarded, each once.
//
// Monitor (runtime/debug.SetCrashOutput, Go 1.23 and later): the program
// keeps its process and PID. Wrap starts the same executable as a small
// monitor process (with a minimal environment: only what prodwrap's
// configuration and delivery read) and points the runtime's crash output
// at a pipe to it, as the standard library's ExampleSetCrashOutput_monitor
// does. The runtime writes the crash to that pipe as well as to stderr; the
// monitor parses it, learns the exit status through a pidfd (Linux 6.15's
// PIDFD_INFO_EXIT, or /proc/PID/stat while the program is a zombie), and
// reports. Its limits: it sees only what the runtime writes as crash output
// (panics, fatal errors, signal reports, SIGQUIT dumps) and the exit
// status, not the log lines before the crash (the report has no log_tail)
// nor race reports (those go to stderr only; the exit status 66 is
// reported as an exit); a death with no crash output (SIGKILL, an
// unhandled SIGTERM, os.Exit(3)) is reported when the kernel tells the
// status, which Linux 6.15 and later always does. A program that is PID 1
// of a container takes its monitor down when it dies (the kernel kills the
// namespace): use ReExec there, or the prodwrap command as the entry
// point. The monitor is one more process for the program's lifetime,
// blocked in a read; SIGINT, SIGTERM, SIGHUP and SIGQUIT do not end it (a
// terminal's ^C or a supervisor's stop signal for the whole group must not
// take it down before it has reported): the first only bounds the delivery
// that follows by its deadline, a second cuts that delivery short. It ends
// when the program does.
//
// # Which process is which
//
// The monitor and the re-executed program are the same executable, and
// both run main: call Wrap first thing in main, before flags are parsed or
// the environment is read (the monitor has no arguments and a minimal
// environment, and must reach Wrap to do its work).
//
// Wrap returns the Role of the process that called it: Program in the one
// that runs the program (main goes on), Watcher in the re-exec parent and
// in the monitor (their work is done; exit with the status Wrap returned).
// Main does that exit. An OnReport hook runs in the watcher or the monitor,
// never in the crashed process: it sees the report, not the program's state.
//
// When Wrap cannot set up the watch (an invalid configuration, no
// executable to re-run), Main writes one line to stderr and lets the program
// run unwrapped: a crash reporter that cannot start must not keep a service
// from starting. A program that would rather not start calls Wrap and
// decides itself.
package selfwrap
