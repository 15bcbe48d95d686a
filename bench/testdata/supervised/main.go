// Command supervised is BenchmarkStartup's second floor: prodwrap's own
// supervise package running the command — stderr through the pipe, the
// forwarded signals, the process group, the parent-death signal — with no
// configuration, spool or sinks. What prodwrap adds beyond it is the
// loading of the rest of the binary and the work around the child.
package main

import (
	"fmt"
	"os"
	"os/signal"

	"github.com/prodwrap/prodwrap/supervise"
)

func main() {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, supervise.DefaultSignals...)
	c := &supervise.Child{Path: os.Args[1], Args: os.Args[2:], Signals: sigs}
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(supervise.ExitCode(err))
	}
	res, err := c.Wait()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(125)
	}
	os.Exit(res.ExitCode)
}
