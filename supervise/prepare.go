package supervise

import (
	"os"
	"sync"
)

// Prepare does the work of a program's first [Child.Start] that does not
// depend on the child, for a caller that runs it in the background while
// the program does other work: os's pidfd probe (at its first
// StartProcess, os forks a child that exits at once, to learn whether
// clone(CLONE_PIDFD) works), the lookup of prodwrap's cgroup counter of OOM
// kills and the first child's baseline of it ([OOMKills]). prodwrap runs it
// while it initialises (package internal/early), beside the libraries'
// initialisation; without it, or before it is done, Start and Wait do the
// same work themselves.
//
// The first child's baseline is then read before its start rather than
// just after (none of its OOM kills can be missed); a later child reads its
// own after its start.
func Prepare() {
	// Nothing here is needed: a failure is met again, and handled, where
	// the work is needed.
	defer func() { _ = recover() }()
	if p, err := os.FindProcess(os.Getpid()); err == nil { // runs os's probe
		_ = p.Release()
	}
	if n, err := OOMKills(0); err == nil {
		prepared.put(n)
	}
}

// prepared holds Prepare's OOM-kill baseline until the first child takes
// it. Once a child looked, a late one is dropped: it would be older than
// the counts later children read.
var prepared preparedBaseline

type preparedBaseline struct {
	mu     sync.Mutex
	n      int
	have   bool
	looked bool
}

func (p *preparedBaseline) put(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.looked {
		p.n, p.have = n, true
	}
}

// take returns the baseline once, if Prepare had read it by then.
func (p *preparedBaseline) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, have := p.n, p.have
	p.looked, p.have = true, false
	return n, have
}
