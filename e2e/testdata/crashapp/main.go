// Command crashapp is the service of e2e/sentry_sdk_test.go: a module with
// a subpackage (store) and a dependency (sentry-go), built in a git
// repository so that its build information has a VCS revision.
//
//	crashapp crash   dereferences a nil *store.DB in store.(*DB).Get
//	crashapp sdk     the same crash on the same line, under sentry-go's own
//	                 Recover, which reports it in-process (SENTRY_DSN,
//	                 SENTRY_ENVIRONMENT and SENTRY_RELEASE as sentry-go reads them)
package main

import (
	"os"
	"time"

	"github.com/getsentry/sentry-go"

	"example.com/crashapp/store"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sdk" {
		if err := sentry.Init(sentry.ClientOptions{}); err != nil {
			panic(err)
		}
		defer sentry.Flush(10 * time.Second)
		defer sentry.Recover()
	}
	run()
}

//go:noinline
func run() {
	var db *store.DB
	db.Get("order")
}
