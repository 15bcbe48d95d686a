// Command gowrap is BenchmarkStartup's floor: the least a Go program can do
// to run a command as prodwrap does — os/exec with the standard files, and
// with -signals the twelve signals prodwrap forwards registered with
// os/signal first (each registration is a round trip to the runtime's
// signal-mask thread). It shows what any Go supervisor costs before doing
// any work of its own.
package main

import (
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	signals := flag.Bool("signals", false, "register the forwarded signals")
	flag.Parse()
	sigs := make(chan os.Signal, 32)
	if *signals {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
			syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT,
			syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPWR)
	}
	args := flag.Args()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Exit(127)
	}
}
