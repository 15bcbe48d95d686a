package report

import (
	"fmt"

	"github.com/prodwrap/prodwrap/parse"
)

// ExitCrash describes a child that died without a dump: kind exit for a
// non-zero exit code, killed for a signal, oom for a SIGKILL when the
// child's cgroup counted an OOM kill.
func ExitCrash(e Exit, oomKilled bool) *parse.Crash {
	c := &parse.Crash{Kind: parse.KindExit, Buckets: []parse.Bucket{}}
	switch {
	case e.Signal != nil && oomKilled && *e.Signal == "SIGKILL":
		c.Kind = parse.KindOOM
		c.Message = "killed by the OOM killer (SIGKILL, the cgroup counted an OOM kill)"
	case e.Signal != nil:
		c.Kind = parse.KindKilled
		c.Message = "killed by " + *e.Signal
		if e.CoreDumped {
			c.Message += " (core dumped)"
		}
	default:
		c.Message = fmt.Sprintf("exit status %d", e.Code)
	}
	return c
}
