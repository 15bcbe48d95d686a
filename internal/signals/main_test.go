package signals_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv names the helper a re-executed test binary runs instead of
// the tests (os/exec's helper-process pattern): the signal tests need a
// process of their own, whose dispositions they may change for good.
const helperEnv = "SIGNALS_TEST_HELPER"

// helpers are the helper processes; each returns its exit status.
var helpers = map[string]func() int{
	"stops":          helperStops,
	"broken-pipe":    helperBrokenPipe,
	"child-holds":    helperChildHolds,
	"early-taken":    helperEarlyTaken,
	"early-narrowed": helperEarlyNarrowed,
}

// The owner leaves no goroutine behind once stopped.
func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		h, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h())
	}
	goleak.VerifyTestMain(m)
}
