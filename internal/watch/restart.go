package watch

import (
	"math/rand/v2"
	"time"

	"github.com/prodwrap/prodwrap/config"
)

// restartPolicy decides whether the child runs again, and after how long:
// never (the default: run once, exit with the child's status), on-failure
// (after a non-zero status) or always; with exponential backoff and jitter
// between restarts, reset once the child stayed up long enough, and a cap
// of restarts within a window past which prodwrap gives up and exits with
// the last status.
type restartPolicy struct {
	mode        string
	initial     time.Duration
	max         time.Duration
	reset       time.Duration
	maxRestarts int
	window      time.Duration
	now         func() time.Time

	// count is the number of restarts so far.
	count    int
	next     time.Duration
	restarts []time.Time
}

func newRestartPolicy(cfg *config.Config) *restartPolicy {
	p := cfg.Process
	return &restartPolicy{
		mode:        p.Restart,
		initial:     time.Duration(p.RestartDelay),
		max:         time.Duration(p.RestartMaxDelay),
		reset:       time.Duration(p.RestartReset),
		maxRestarts: p.MaxRestarts,
		window:      time.Duration(p.RestartWindow),
		now:         time.Now,
	}
}

// again reports whether to restart after a run that ended with status
// code, and whether not restarting is giving up (max_restarts reached
// within the window), which is news to report.
func (p *restartPolicy) again(code int) (again, gaveUp bool) {
	switch p.mode {
	case "always":
	case "on-failure":
		if code == 0 {
			return false, false
		}
	default:
		return false, false
	}
	now := p.now()
	recent := p.restarts[:0]
	for _, t := range p.restarts {
		if p.window <= 0 || now.Sub(t) < p.window {
			recent = append(recent, t)
		}
	}
	p.restarts = recent
	if p.maxRestarts > 0 && len(p.restarts) >= p.maxRestarts {
		return false, true
	}
	p.restarts = append(p.restarts, now)
	p.count++
	return true, false
}

// recent counts the restarts within the window.
func (p *restartPolicy) recent() int { return len(p.restarts) }

// delay is the wait before the next start: it doubles from the initial
// delay up to the maximum, starts over once the child stayed up for the
// reset period, and is jittered by up to a quarter.
func (p *restartPolicy) delay(uptime time.Duration) time.Duration {
	switch {
	case p.next == 0 || (p.reset > 0 && uptime >= p.reset):
		p.next = p.initial
	default:
		p.next = min(p.next*2, p.max)
	}
	d := p.next
	if q := int64(d / 4); q > 0 {
		d += time.Duration(rand.Int64N(q))
	}
	return d
}
