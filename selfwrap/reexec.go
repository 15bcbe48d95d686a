package selfwrap

import (
	"fmt"
	"os"

	"github.com/mitchellh/panicwrap"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/signals"
	"github.com/prodwrap/prodwrap/internal/watch"
)

// reexec runs this executable again as the program, under prodwrap's
// watcher, and returns its status.
func reexec(o Options, cfg *config.Config, cfgErrs []string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find the executable to re-run: %w", err)
	}
	// The program's environment is its own: nothing is scrubbed from it.
	c := *cfg
	c.Process.PassSecrets = true
	forward, err := watch.ForwardSignals(&c)
	if err != nil {
		return 0, err
	}
	return watch.Run(watch.Options{
		Config:   &c,
		Signals:  signals.Register(forward, watch.Reaps(&c), nil),
		Wrap:     ReExec.String(),
		Path:     exe,
		Argv0:    os.Args[0],
		Args:     os.Args[1:],
		Env:      os.Environ(),
		ExtraEnv: []string{panicwrap.DEFAULT_COOKIE_KEY + "=" + panicwrap.DEFAULT_COOKIE_VAL},
		OnReport: o.OnReport,
		KnownEnv: []string{monitorEnv},

		ConfigErrors: cfgErrs,
	})
}
