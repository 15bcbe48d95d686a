package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// Every package the binary links runs its initialisation at every start of
// every wrapped service, before the child starts. These were measured and
// left out on purpose (docs/benchmarks.md): sentry-go (~0.3 ms, and its
// init's crypto/rand timer held off Go's deadlock detector in selfwrap
// programs) and slack-go; the sinks speak both protocols themselves.
func TestBinaryLinksNoSDK(t *testing.T) {
	for _, pkg := range []string{".", "../../selfwrap"} {
		out, err := exec.Command(zoo.GoTool(), "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "github.com/prodwrap/prodwrap/notify") {
			t.Fatalf("go list -deps %s does not list notify; the check below would prove nothing:\n%s", pkg, out)
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "github.com/getsentry/sentry-go") || strings.HasPrefix(d, "github.com/slack-go/slack") {
				t.Errorf("%s links %s", pkg, d)
			}
		}
	}
}
