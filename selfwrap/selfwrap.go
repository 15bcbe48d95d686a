package selfwrap

import (
	"fmt"
	"os"

	"github.com/mitchellh/panicwrap"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
	"github.com/prodwrap/prodwrap/report"
)

// Mode is how a program is watched; see the package documentation for the
// trade-offs.
type Mode int

const (
	// ReExec runs the program again as the child of a watcher process.
	ReExec Mode = iota
	// Monitor keeps the program in its process and sends its crash output
	// to a monitor process.
	Monitor
)

// String returns "reexec" or "monitor", the report's wrap field.
func (m Mode) String() string {
	switch m {
	case ReExec:
		return "reexec"
	case Monitor:
		return "monitor"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Role is which of a wrapped program's processes called Wrap.
type Role int

const (
	// Program is the process that runs the program: main goes on.
	Program Role = iota
	// Watcher is the re-exec watcher or the monitor: its work is done when
	// Wrap returns, and the process exits with the status Wrap returned.
	Watcher
)

// Options configure Wrap.
type Options struct {
	// Mode is ReExec (the zero value) or Monitor.
	Mode Mode
	// ConfigFile is a prodwrap configuration file. "" reads what the
	// prodwrap command reads with no --config: $PRODWRAP_CONFIG, else
	// /etc/prodwrap/prodwrap.toml when present. PRODWRAP_* variables apply
	// on top, as for the command.
	ConfigFile string
	// Config, when set, is the configuration, used as it is (after
	// validation): ConfigFile and the environment are not read. Start from
	// config.Default().
	Config *config.Config
	// OnReport, when set, is called with each report before it is spooled,
	// in the watcher or the monitor process: add Tags, change the service
	// fields. A panic in it is logged and the report goes out as it was.
	OnReport func(*report.Report)
}

// monitorEnv marks the monitor process; its value is the program's PID and
// start time (see startMonitor).
const monitorEnv = "PRODWRAP_SELFWRAP_MONITOR"

// Wrap does the calling process's part of the watch, and says which process
// it is. In the program it returns (Program, 0, nil) at once — after
// starting the monitor, in Monitor mode. In the re-exec watcher it returns
// (Watcher, status) once the program ended and was reported, status being
// the program's (its code, 128+N for signal N, 127/126 when it could not
// be started again). In the monitor it returns (Watcher, 0) once the
// program ended and was reported.
//
// An error means the watch could not be set up; the caller is the program
// (Role Program) and may run unwrapped or stop.
func Wrap(o Options) (Role, int, error) {
	if spec, ok := os.LookupEnv(monitorEnv); ok {
		os.Unsetenv(monitorEnv)
		return Watcher, runMonitor(o, spec), nil
	}
	// panicwrap's cookie marks the re-executed child; Wrapped also clears
	// it, so that the program's own children start afresh, and remembers
	// the answer for panicwrap.Wrapped(nil).
	if panicwrap.Wrapped(&panicwrap.WrapConfig{}) {
		return Program, 0, nil
	}
	cfg, err := loadConfig(o)
	if cfg == nil {
		return Program, 0, fmt.Errorf("selfwrap: %w", err)
	}
	// Fail-open, as the prefix command: errors in the file or the
	// environment are logged and reported, and the program is watched
	// with what is valid.
	cfgErrs := watch.ConfigErrors(err)
	switch o.Mode {
	case ReExec:
		code, err := reexec(o, cfg, cfgErrs)
		if err != nil {
			return Program, 0, fmt.Errorf("selfwrap: %w", err)
		}
		return Watcher, code, nil
	case Monitor:
		if err := startMonitor(); err != nil {
			return Program, 0, fmt.Errorf("selfwrap: %w", err)
		}
		return Program, 0, nil
	}
	return Program, 0, fmt.Errorf("selfwrap: unknown mode %v", o.Mode)
}

// Main calls Wrap and exits with the status in a watcher; in the program
// it returns. When Wrap fails it writes the error to stderr and returns:
// the program runs unwrapped.
func Main(o Options) {
	role, code, err := Wrap(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "prodwrap: %v; running without crash reports\n", err)
		return
	}
	if role == Watcher {
		os.Exit(code)
	}
}

// loadConfig is the configuration of Options: inline (which must be
// valid), or read like the prodwrap command's, leniently: then a non-nil
// configuration may come with a config.Errors.
func loadConfig(o Options) (*config.Config, error) {
	if o.Config != nil {
		if err := o.Config.Validate(); err != nil {
			return nil, err
		}
		return o.Config, nil
	}
	var args []string
	if o.ConfigFile != "" {
		args = []string{"--config", o.ConfigFile}
	}
	cfg, _, err := config.Load(config.Options{Args: args, Env: os.Environ(), Name: "selfwrap", NoCommand: true, Lenient: true})
	return cfg, err
}
