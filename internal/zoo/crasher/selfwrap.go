//go:build zooselfwrap

package main

import (
	"fmt"
	"os"

	"github.com/mitchellh/panicwrap"

	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/selfwrap"
)

func init() {
	modes["panicwrapped"] = func([]string) {
		fmt.Fprintf(os.Stderr, "panicwrap.Wrapped=%v cookie=%q\n", panicwrap.Wrapped(nil), os.Getenv(panicwrap.DEFAULT_COOKIE_KEY))
	}
	wrap = func() {
		mode := selfwrap.ReExec
		if os.Getenv("ZOO_SELFWRAP") == "monitor" {
			mode = selfwrap.Monitor
		}
		selfwrap.Main(selfwrap.Options{
			Mode:     mode,
			OnReport: func(r *report.Report) { r.Tags = map[string]string{"zoo": "selfwrap"} },
		})
		fmt.Fprintf(os.Stderr, "zoo: pid=%d\n", os.Getpid())
	}
}
