package selfwrap_test

import (
	"fmt"
	"os"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/selfwrap"
)

// A service keeps its PID and reports its crashes through a monitor
// process, with its team as a Sentry tag.
func ExampleMain() {
	selfwrap.Main(selfwrap.Options{
		Mode: selfwrap.Monitor,
		OnReport: func(r *report.Report) {
			r.Tags = map[string]string{"team": "payments"}
		},
	})
	// The program, as before.
}

// A program that would rather not start without crash reports, with its
// configuration inline.
func ExampleWrap() {
	cfg := config.Default()
	cfg.Service.Name = "api"
	cfg.Sentry.DSN = config.Secret(os.Getenv("API_SENTRY_DSN"))
	role, status, err := selfwrap.Wrap(selfwrap.Options{Mode: selfwrap.ReExec, Config: cfg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(125)
	}
	if role == selfwrap.Watcher {
		os.Exit(status) // the program ran as this process's child, and ended
	}
	// The program, as before.
}
