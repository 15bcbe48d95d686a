package watch

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// StopSignals are the signals that, whenever no child runs, mean "stop
// now": no new child starts and prodwrap exits as soon as the report is
// spooled and its delivery had what is left of its deadline.
var StopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// Signals is the one owner of prodwrap's signals (docs/architecture.md,
// "Signals"). NotifySignals registers the whole set once, for prodwrap's
// whole life, and nothing ever hands a signal of it back to Go's default
// action: a signal that reaches prodwrap at any moment — while a child
// runs, while a report is made or delivered, during a restart's backoff,
// in `flush` or `send` — is read by exactly one goroutine.
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
// A Signals is used by one goroutine, the watcher's; Stopping, Aborted and
// Stopped may be called from any.
type Signals struct {
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

// NotifySignals registers forward, StopSignals and SIGPIPE (and SIGCHLD
// when reap is set, to wake supervise's reaper) and starts reading them
// idly. It is called once, at start; Stop is only for tests and embedders
// that outlive a watch.
func NotifySignals(forward []os.Signal, reap bool, log *slog.Logger) *Signals {
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Signals{
		c:        make(chan os.Signal, 64),
		log:      log,
		stopping: make(chan struct{}),
		aborted:  make(chan struct{}),
	}
	signal.Notify(s.c, set...)
	s.when = "while no child runs"
	s.idle()
	return s
}

// Stop unregisters the signals. prodwrap itself never calls it: from then
// on they would have their default effect.
func (s *Signals) Stop() {
	s.busy()
	signal.Stop(s.c)
}

// IgnoreTTOU ignores SIGTTOU, for a process that writes to a terminal
// from a background process group (the selfwrap monitor): a caught SIGTTOU
// would stop every such write, an ignored one lets it through.
func (s *Signals) IgnoreTTOU() { signal.Ignore(syscall.SIGTTOU) }

// Child stops the idle reader and returns the channel for a child's run:
// supervise reads it until the child exits. Idle must follow the run.
func (s *Signals) Child() <-chan os.Signal {
	s.busy()
	return s.c
}

// Idle takes the channel back after a child's run. sigs are the signals
// the run forwarded or received: a stop signal among them is a stop
// request, as one that arrives now would be. What arrived after the
// child's exit is still on the channel, in order, and is read now.
func (s *Signals) Idle(sigs ...syscall.Signal) {
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
func (s *Signals) Settle() {
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
func (s *Signals) Stopping() <-chan struct{} { return s.stopping }

// Aborted is closed at the second stop request: work in progress
// (delivery) ends now.
func (s *Signals) Aborted() <-chan struct{} { return s.aborted }

// Stopped returns the signal of the first stop request, 0 for none.
func (s *Signals) Stopped() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopSig
}

// AbortContext returns a context cancelled when a second stop request
// arrives (or parent ends).
func (s *Signals) AbortContext(parent context.Context) (context.Context, context.CancelFunc) {
	return chanContext(parent, s.aborted)
}

// StopContext returns a context cancelled at the first stop request (or
// when parent ends): for work that a stop ends at once, `flush` and `send`.
func (s *Signals) StopContext(parent context.Context) (context.Context, context.CancelFunc) {
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

func (s *Signals) requestStop(sig syscall.Signal) {
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
func (s *Signals) idle() {
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

// handleIdle acts on a signal that came while no child ran.
func (s *Signals) handleIdle(v os.Signal, when string) {
	sig, _ := v.(syscall.Signal)
	switch {
	case isStop(sig):
		s.log.Info("signal received "+when+"; stopping", "signal", unix.SignalName(sig))
		s.requestStop(sig)
	case sig == syscall.SIGPIPE, sig == syscall.SIGCHLD:
	default:
		s.log.Debug("signal received "+when+"; no child to forward it to", "signal", unix.SignalName(sig))
	}
}

// busy stops the idle reader and waits until it stopped.
func (s *Signals) busy() {
	if s.quit == nil {
		return
	}
	close(s.quit)
	<-s.idleDone
	s.quit, s.idleDone = nil, nil
}
