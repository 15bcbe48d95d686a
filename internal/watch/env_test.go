package watch_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/config"
	"github.com/prodwrap/prodwrap/internal/watch"
)

const testDSN = "https://pubkey:secretkey@sentry.example.com/42"

// The child keeps the service's own Sentry configuration; prodwrap's own
// secrets are removed, and what scrub_env lists.
func TestChildEnvKeepsSentryAndScrubsProdwrapsSecrets(t *testing.T) {
	c, _, err := config.Load(config.Options{Args: []string{"--gotraceback", "all", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/bin", "SENTRY_DSN=" + testDSN, "SENTRY_ENVIRONMENT=prod", "SENTRY_RELEASE=r1",
		"PRODWRAP_WEBHOOK_URL=https://x/y", "PRODWRAP_SLACK_TOKEN=xoxb", "PRODWRAP_SENTRY_DSN_FILE=/run/dsn",
		"PRODWRAP_SLACK_WEBHOOK_URL_FILE=/run/hook", "PRODWRAP_SERVICE=api", "HOME=/root"}
	got := watch.ChildEnv(c, env)
	want := []string{"PATH=/bin", "SENTRY_DSN=" + testDSN, "SENTRY_ENVIRONMENT=prod", "SENTRY_RELEASE=r1", "PRODWRAP_SERVICE=api", "HOME=/root", "GOTRACEBACK=all"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChildEnv mismatch (-want +got):\n%s", diff)
	}
	c.Process.ScrubEnv = []string{"SENTRY_DSN", "HOME"}
	got = watch.ChildEnv(c, env)
	want = []string{"PATH=/bin", "SENTRY_ENVIRONMENT=prod", "SENTRY_RELEASE=r1", "PRODWRAP_SERVICE=api", "GOTRACEBACK=all"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChildEnv with scrub_env mismatch (-want +got):\n%s", diff)
	}
	c.Process.ScrubEnv = nil
	c.Process.PassSecrets = true // deprecated; selfwrap's
	if got := watch.ChildEnv(c, env); !slices.Contains(got, "PRODWRAP_SLACK_TOKEN=xoxb") {
		t.Errorf("pass_secrets did not keep prodwrap's secrets: %q", got)
	}
	if got := watch.ChildEnv(c, []string{"GOTRACEBACK=none"}); !slices.Equal(got, []string{"GOTRACEBACK=none"}) {
		t.Errorf("the child's own GOTRACEBACK was overridden: %q", got)
	}
}

func TestScrubEnvSetting(t *testing.T) {
	c, _, err := config.Load(config.Options{Args: []string{"x"}, Env: []string{"PRODWRAP_SCRUB_ENV=SENTRY_DSN, SENTRY_RELEASE"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Process.ScrubEnv, []string{"SENTRY_DSN", "SENTRY_RELEASE"}) {
		t.Errorf("scrub_env = %q", c.Process.ScrubEnv)
	}
}
