package watch_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
)

const testDSN = "https://pubkey:secretkey@sentry.example.com/42"

func TestChildEnvScrubsSecrets(t *testing.T) {
	c, _, err := config.Load(config.Options{Args: []string{"--gotraceback", "all", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/bin", "SENTRY_DSN=" + testDSN, "PRODWRAP_WEBHOOK_URL=https://x/y", "PRODWRAP_SLACK_TOKEN=xoxb", "HOME=/root"}
	got := watch.ChildEnv(c, env)
	want := []string{"PATH=/bin", "HOME=/root", "GOTRACEBACK=all"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChildEnv mismatch (-want +got):\n%s", diff)
	}
	c.Process.PassSecrets = true
	if got := watch.ChildEnv(c, env); !slices.Contains(got, "SENTRY_DSN="+testDSN) {
		t.Errorf("pass_secrets did not keep SENTRY_DSN: %q", got)
	}
	if got := watch.ChildEnv(c, []string{"GOTRACEBACK=none"}); !slices.Equal(got, []string{"GOTRACEBACK=none", "SENTRY_DSN_X=1"}[:1]) {
		t.Errorf("the child's own GOTRACEBACK was overridden: %q", got)
	}
}
