package main

import (
	"errors"
	"fmt"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/internal/watch"
)

// runWatch is `prodwrap [flags] [--] COMMAND [ARGS...]`: run COMMAND, and
// report it if it dies abnormally. It returns the child's status.
func runWatch(args, env []string, std stdio) int {
	// Fail-open: a bad file, variable or secret never keeps the service
	// from starting; only a bad flag (or strict) does.
	cfg, cmdArgs, err := config.Load(config.Options{Args: args, Env: env, Name: "prodwrap", Lenient: true})
	if errors.Is(err, config.ErrHelp) {
		printUsage(std.err)
		return exitOK
	}
	if cfg == nil {
		return fail(std.err, err)
	}
	cfgErrs := watch.ConfigErrors(err)
	if len(cmdArgs) == 0 {
		fmt.Fprintln(std.err, "prodwrap: no COMMAND given; see prodwrap --help")
		return exitFailure
	}
	forward, err := watch.ForwardSignals(cfg)
	if err != nil {
		return fail(std.err, err)
	}
	code, err := watch.Run(watch.Options{
		Config:  cfg,
		Signals: signals.Register(forward, watch.Reaps(cfg), nil),
		Path:    cmdArgs[0],
		Args:    cmdArgs[1:],
		Env:     env,
		Stdin:   std.in,
		Stdout:  std.out,
		Stderr:  std.err,

		ExecSelf: true,

		ConfigErrors: cfgErrs,
	})
	if err != nil {
		return fail(std.err, err)
	}
	return code
}
