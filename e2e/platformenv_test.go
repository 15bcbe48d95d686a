package e2e_test

import "os"

// platformEnv are the variables by which a platform tells prodwrap it is
// there (issue 16): a test machine that runs in a pod, under a
// Type=notify unit or with its stderr on the journal must not have the
// tests' crashes written to its termination message, its notify socket or
// its journal. The tests that need one set it for the run they start.
var platformEnv = []string{
	"KUBERNETES_SERVICE_HOST", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
	"JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
}

func init() {
	for _, k := range platformEnv {
		os.Unsetenv(k)
	}
}
