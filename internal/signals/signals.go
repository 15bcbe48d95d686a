// Package signals is the one owner of prodwrap's signals
// (docs/architecture.md, "Signals"): which signals prodwrap catches, for
// its whole life, and which goroutine reads them at each moment. It is
// the only package of the product that calls os/signal
// (cmd/prodwrap/arch_test.go checks it).
//
// It is a leaf (it imports nothing of prodwrap's but supervise, for the
// default forward list) so that the registration can begin while the
// program initialises: each signal registered is a round trip to the Go
// runtime's signal-mask thread, about 60 µs on a 2-core VM, 0.8 ms for
// prodwrap's thirteen — a quarter of what a bare Go os/exec wrapper adds
// to a start (docs/benchmarks.md). [Early], called from the init of
// internal/early (imported by cmd/prodwrap alone, for that side
// effect), starts it in the background; the packages initialised after it
// (client_golang, sentry-go, slack-go, their dependencies: about 1.5 ms)
// run meanwhile, and [Register] takes the registration over. Why not in
// watch: watch imports those packages, and a package initialises only
// after everything it imports.
package signals

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/supervise"
)

// StopSignals are the signals that, whenever no child runs, mean "stop
// now": no new child starts and prodwrap exits as soon as the report is
// spooled and its delivery had what is left of its deadline.
var StopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// Owner is the one owner of prodwrap's signals. Register registers the
// whole set once, for prodwrap's whole life, and nothing ever hands a
// signal of it back to Go's default action: a signal that reaches
// prodwrap at any moment — while a child runs, while a report is made or
// delivered, during a restart's backoff, in `flush` or `send` — is read by
// exactly one goroutine.
//
//   - While a child runs, supervise reads the channel (Child) and forwards
//     what the forward list names.
//   - At every other moment, an idle reader turns the first stop signal
//     (StopSignals, or one that was forwarded to or reached the child's
//     run) into Stopping, and a second one into Aborted: delivery is cut
//     short then.
//   - SIGPIPE is registered so that a broken stdout or stderr of prodwrap's
//     returns EPIPE instead of killing prodwrap (Go's default for fds 1
//     and 2); it is never forwarded: the child has pipes of its own.
//
// An Owner is used by one goroutine, the watcher's; Stopping, Aborted and
// Stopped may be called from any.
type Owner struct {
	c   chan os.Signal
	log *slog.Logger

	mu       sync.Mutex
	stopSig  syscall.Signal
	stopping chan struct{} // closed at the first stop request
	aborted  chan struct{} // closed at the second
	nstops   int

	quit, idleDone chan struct{} // the idle reader's, nil while a child runs
	// when says in the log when an idle signal came.
	when string
}

// Set returns the signals Register registers: StopSignals, SIGPIPE,
// SIGCHLD when reap is set (to wake supervise's reaper), and forward.
func Set(forward []os.Signal, reap bool) []os.Signal {
	set := slices.Clone(StopSignals)
	set = append(set, syscall.SIGPIPE)
	if reap {
		set = append(set, syscall.SIGCHLD)
	}
	for _, s := range forward {
		if !slices.Contains(set, s) {
			set = append(set, s)
		}
	}
	return set
}

// Register registers Set(forward, reap) and starts reading it idly. It is
// called once, at start; Stop is only for tests and embedders that outlive
// a watch. It takes over what Early registered: the signals Early caught
// that this set leaves out (a forward list without USR1, say) get Go's
// default back (signal.Reset), as they had before Early, and any of them
// that came meanwhile is raised again. Go's default for each of them is
// to do nothing (USR1, USR2, PWR, WINCH; CONT continues the process
// whatever its handler), so the one signal a narrower list can lose — one
// caught in the instant between Reset and os/signal's delivery, which
// os/signal then drops — would have done nothing either. TSTP, TTIN and
// TTOU are the exception: once registered, Go never gives them their
// default (stop) back (signal.Reset leaves its handler, which ignores
// them), so a forward list without them leaves them ignored by prodwrap
// rather than stopping it. A terminal's ^Z reaches the child anyway (its
// process group is the foreground one), and a prodwrap stopped while its
// child runs would stop draining the child's stderr.
func Register(forward []os.Signal, reap bool, log *slog.Logger) *Owner {
	set := Set(forward, reap)
	c, caught := takeEarly()
	if c == nil {
		c = make(chan os.Signal, chanSize)
	}
	signal.Notify(c, set...) // no round trip for a signal Early registered
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Owner{
		c:        c,
		log:      log,
		stopping: make(chan struct{}),
		aborted:  make(chan struct{}),
	}
	if extra := slices.DeleteFunc(caught, func(sig os.Signal) bool { return slices.Contains(set, sig) }); len(extra) > 0 {
		signal.Reset(extra...)
		reraise(c, extra)
	}
	s.when = "while no child runs"
	s.idle()
	return s
}

// chanSize is the channel's buffer: signals that come while its reader is
// busy wait there (os/signal drops what does not fit).
const chanSize = 64

// early is the registration Early began, until Register takes it.
var early struct {
	mu    sync.Mutex
	c     chan os.Signal
	set   []os.Signal
	done  chan struct{} // closed once signal.Notify returned
	taken bool
	begun bool
}

// Early begins registering, in the background, the signals a run of the
// prefix command catches with the default configuration — Set with
// supervise's default forward list, and SIGCHLD when prodwrap is PID 1 —
// for Register to take over. Only the prodwrap binary calls it, from the
// init of internal/early, and not for an invocation that registers
// no signals (`prodwrap parse`, the exec trampoline: see early.Quiet); a
// second call does nothing.
//
// then, when not nil, runs in the same goroutine once the registration is
// done, so that Register never waits for it: more of the start's work
// that can be done early (supervise.Prepare). In a goroutine of its own
// it would share the second P with the registration, and the scheduler
// could let it run first.
//
// Until Register, a signal of the set is caught and waits on the channel
// instead of having its default effect: a SIGTERM in the first
// milliseconds is a stop request, as it would be a moment later.
func Early(then func()) {
	early.mu.Lock()
	defer early.mu.Unlock()
	if early.begun {
		return
	}
	early.begun = true
	early.c = make(chan os.Signal, chanSize)
	early.set = Set(supervise.DefaultSignals, os.Getpid() == 1)
	early.done = make(chan struct{})
	go func(c chan os.Signal, set []os.Signal, done chan struct{}) {
		signal.Notify(c, set...)
		close(done)
		if then != nil {
			then()
		}
	}(early.c, early.set, early.done)
}

// takeEarly waits for Early's registration, if it began and was not taken
// yet, and returns its channel and set; nil when there is none.
func takeEarly() (chan os.Signal, []os.Signal) {
	early.mu.Lock()
	defer early.mu.Unlock()
	if !early.begun || early.taken {
		return nil, nil
	}
	early.taken = true
	<-early.done
	return early.c, slices.Clone(early.set)
}

// reraise raises again, in order, each signal of which waiting on c: Go's
// default action for them is back, so each has the effect it would have
// had without the early registration; the others are put back, in their
// order.
func reraise(c chan os.Signal, which []os.Signal) {
	var keep []os.Signal
	for {
		select {
		case v := <-c:
			sig, ok := v.(syscall.Signal)
			if ok && slices.Contains(which, v) {
				_ = syscall.Kill(os.Getpid(), sig) // to ourselves: cannot fail but for a bad number
				continue
			}
			keep = append(keep, v)
		default:
			for _, v := range keep { // the ones the owner still wants, in their order
				select {
				case c <- v:
				default: // full: dropped, as os/signal drops what does not fit
				}
			}
			return
		}
	}
}

// Stop unregisters the signals. prodwrap itself never calls it: from then
// on they would have their default effect.
func (s *Owner) Stop() {
	s.busy()
	signal.Stop(s.c)
}

// IgnoreTTOU ignores SIGTTOU, for a process that writes to a terminal
// from a background process group (the selfwrap monitor): a caught SIGTTOU
// would stop every such write, an ignored one lets it through.
func (s *Owner) IgnoreTTOU() { signal.Ignore(syscall.SIGTTOU) }

// Child stops the idle reader and returns the channel for a child's run:
// supervise reads it until the child exits. Idle must follow the run.
func (s *Owner) Child() <-chan os.Signal {
	s.busy()
	return s.c
}

// Idle takes the channel back after a child's run. sigs are the signals
// the run forwarded or received: a stop signal among them is a stop
// request, as one that arrives now would be. What arrived after the
// child's exit is still on the channel, in order, and is read now.
func (s *Owner) Idle(sigs ...syscall.Signal) {
	for _, sig := range sigs {
		if isStop(sig) {
			s.requestStop(sig)
		}
	}
	s.when = "after the child exited"
	s.idle()
}

// Settle handles the signals already waiting on the channel before it
// returns, so that a decision taken next (restart or not) sees a stop
// signal that reached prodwrap before it.
func (s *Owner) Settle() {
	s.busy()
	for {
		select {
		case v := <-s.c:
			s.handleIdle(v, s.when)
		default:
			s.idle()
			return
		}
	}
}

// Stopping is closed once a stop was requested: no new child starts.
func (s *Owner) Stopping() <-chan struct{} { return s.stopping }

// Aborted is closed at the second stop request: work in progress
// (delivery) ends now.
func (s *Owner) Aborted() <-chan struct{} { return s.aborted }

// Stopped returns the signal of the first stop request, 0 for none.
func (s *Owner) Stopped() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopSig
}

// AbortContext returns a context cancelled when a second stop request
// arrives (or parent ends).
func (s *Owner) AbortContext(parent context.Context) (context.Context, context.CancelFunc) {
	return chanContext(parent, s.aborted)
}

// StopContext returns a context cancelled at the first stop request (or
// when parent ends): for work that a stop ends at once, `flush` and `send`.
func (s *Owner) StopContext(parent context.Context) (context.Context, context.CancelFunc) {
	return chanContext(parent, s.stopping)
}

func chanContext(parent context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() { // ends with ctx, which cancel ends
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func isStop(sig os.Signal) bool { return slices.Contains(StopSignals, sig) }

func (s *Owner) requestStop(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nstops++
	switch s.nstops {
	case 1:
		s.stopSig = sig
		close(s.stopping)
	case 2:
		close(s.aborted)
	}
}

// idle starts the reader that owns the channel while no child runs.
func (s *Owner) idle() {
	if s.quit != nil {
		return
	}
	s.quit, s.idleDone = make(chan struct{}), make(chan struct{})
	go func(quit, done chan struct{}, when string) {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case v := <-s.c:
				s.handleIdle(v, when)
			}
		}
	}(s.quit, s.idleDone, s.when)
}

// SetLogger sets the logger of the signals read while no child runs (by
// default they are not logged): the watcher's, once it has one.
func (s *Owner) SetLogger(log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = log
}

// handleIdle acts on a signal that came while no child ran.
func (s *Owner) handleIdle(v os.Signal, when string) {
	sig, _ := v.(syscall.Signal)
	s.mu.Lock()
	log := s.log
	s.mu.Unlock()
	switch {
	case isStop(sig):
		log.Info("signal received "+when+"; stopping", "signal", unix.SignalName(sig))
		s.requestStop(sig)
	case sig == syscall.SIGPIPE, sig == syscall.SIGCHLD:
	default:
		log.Debug("signal received "+when+"; no child to forward it to", "signal", unix.SignalName(sig))
	}
}

// busy stops the idle reader and waits until it stopped.
func (s *Owner) busy() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	<-s.idleDone
	s.quit, s.idleDone = nil, nil
}
