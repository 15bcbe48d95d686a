// Package supervise runs one command the way prodwrap does: as a child that
// does not notice it is being watched.
//
// # Model
//
// A [Child] looks like [os/exec.Cmd]: a struct of documented fields whose zero
// values are useful, a [Child.Start]/[Child.Wait] split, and a [Result]
// value describing how the child ended. It is built on exec.Cmd.
//
//   - stdin and stdout are passed as *os.File, so the child inherits the file
//     descriptors themselves: nothing is copied, nothing can be delayed.
//   - stderr goes through a pipe (enlarged with F_SETPIPE_SZ) that one reader
//     goroutine drains in large reads. Every read is written on at once, in
//     order, before the next read, so the child's stderr reaches ours byte for
//     byte. When our stderr fails (closed, EPIPE), the reader keeps draining
//     and capturing: the child never blocks on a dead stderr and nothing it
//     wrote is lost to the report.
//   - While passing stderr through, the reader keeps a bounded tail of the
//     last lines and, from the first line [Capture.StartsDump] accepts, the
//     crash dump: in memory up to [Capture.MemoryDump] bytes, then in a spill
//     file up to [Capture.MaxDump], then cut and marked truncated. Whether a
//     dump is a crash is decided after exit by the caller: a program that
//     prints "panic: not really" and exits 0 is not a crash.
//
// # One goroutine owns the child
//
// [Child.Wait] runs a single select loop over the forwarded-signal channel
// and a buffered wait-result channel. Exactly one goroutine calls
// exec.Cmd.Wait and sends its result; nothing else waits for the child.
// Signalling a child that is already gone (os.ErrProcessDone, ESRCH) is a
// benign race, not an error.
//
// # Signals
//
// supervise registers no signal: the caller — prodwrap's one signal owner
// (internal/watch, docs/architecture.md "Signals") — registered its set
// once, for its whole life, and hands the channel to [Child.Signals].
// While the child runs, Wait forwards each signal received there that
// [Child.Forward] lists ([DefaultSignals] by default, an empty list none),
// never those [CanForward] refuses: SIGCHLD (it wakes the reaper instead),
// SIGURG (the runtime's preemption signal), SIGPIPE (prodwrap's own broken
// pipe) or the synchronous fault signals. The others are only recorded in
// [Result.Received]. Wait stops reading the channel when the child exits:
// a signal that arrives after the exit stays there, in order, for the
// caller, and never has Go's default effect on prodwrap.
//
// The child leads its own process group. When stdin is the controlling
// terminal and prodwrap's group is in the foreground, the child's group is
// made the foreground group (as tini does), so the terminal's ^C, ^\ and ^Z
// reach the child once, directly, and prodwrap forwards only the signals that
// were sent to prodwrap itself: every signal arrives exactly once. With
// [Child.ProcessGroup], forwarded signals go to the child's whole group
// (tini -g), so grandchildren get them too. Giving the terminal back after
// the exit blocks SIGTTOU on the calling thread for the call alone.
//
// A caveat for systemd: KillMode=control-group (the default) signals every
// process of the unit, the child included, and prodwrap forwards the same
// signal again. Use KillMode=mixed, which signals only the main process.
//
// # Reaping
//
// As PID 1 (a container's init) or with [Child.Subreaper], orphaned
// descendants are re-parented to prodwrap. A reaper goroutine, woken by a
// SIGCHLD received on Child.Signals and by a slow ticker, reaps every exited child except the main one,
// which it finds by scanning /proc for zombies whose parent is prodwrap. It
// never calls wait on the main child, so exec.Cmd.Wait keeps its status.
//
// # Lifetime
//
// The child gets SIGKILL when prodwrap dies, however it dies (PR_SET_PDEATHSIG).
// The parent-death signal is bound to the thread that forked, so Start locks
// the calling goroutine to its thread while forking and unlocks it after: the
// thread stays in the runtime's pool and is never torn down.
//
// A grandchild that keeps stderr open after the child exited would keep the
// pipe from reaching EOF; after [Child.WaitDelay] the reader stops and the
// Result says OutputTruncated (the report then says its output was cut).
//
// # Our own log lines
//
// [LineGate] serializes the child's stderr and prodwrap's own log lines onto
// one writer: a log line is written only between two lines of the child's,
// so it never lands inside one.
package supervise
