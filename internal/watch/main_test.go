package watch_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Run leaves no goroutine behind: the capture, the signal forwarding, the
// background flush and the build-information reader all end with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
