package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// sdks are the clients the sinks are built on (design: "Where reports
// go"): the Sentry event is sentry-go's, the Slack message slack-go's.
var sdks = []string{"github.com/getsentry/sentry-go", "github.com/slack-go/slack"}

// TestBinaryLinksTheSDKs: the product and library mode link sentry-go and
// slack-go for their sinks, and `go version -m` of the built binary lists
// both modules.
func TestBinaryLinksTheSDKs(t *testing.T) {
	for _, pkg := range []string{".", "../../selfwrap"} {
		out, err := exec.Command(zoo.GoTool(), "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "github.com/prodwrap/prodwrap/notify") {
			t.Fatalf("go list -deps %s does not list notify:\n%s", pkg, out)
		}
		for _, sdk := range sdks {
			if !slices.Contains(deps, sdk) {
				t.Errorf("%s does not link %s", pkg, sdk)
			}
		}
	}
	if testing.Short() {
		return
	}
	bin := filepath.Join(t.TempDir(), "prodwrap")
	if out, err := exec.Command(zoo.GoTool(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(zoo.GoTool(), "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, sdk := range sdks {
		found := false
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "dep" && f[1] == sdk {
				found = true
			}
		}
		if !found {
			t.Errorf("go version -m does not list the module %s:\n%s", sdk, out)
		}
	}
}
