package config_test

import (
	"slices"
	"testing"
)

// The settings of issue 14: tags from the file (a string or a table) and
// PRODWRAP_TAGS, the grouping, the web URL, scrub_env.
func TestSentryEventSettings(t *testing.T) {
	c, err := load(t, "[sentry]\ntags = { team = \"payments\", region = \"eu\" }\nfingerprint = \"prodwrap\"\nweb_url = \"https://acme.sentry.io/issues/\"\n[process]\nscrub_env = [\"SENTRY_DSN\"]\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sentry.Tags != "region=eu,team=payments" || c.Sentry.Fingerprint != "prodwrap" || c.Sentry.WebURL != "https://acme.sentry.io/issues/" || !slices.Equal(c.Process.ScrubEnv, []string{"SENTRY_DSN"}) {
		t.Errorf("tags %q fingerprint %q web_url %q scrub_env %q", c.Sentry.Tags, c.Sentry.Fingerprint, c.Sentry.WebURL, c.Process.ScrubEnv)
	}
	c, err = load(t, "", []string{"PRODWRAP_TAGS=a=1,b=2", "PRODWRAP_SCRUB_ENV=X,Y"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sentry.Tags != "a=1,b=2" || !slices.Equal(c.Process.ScrubEnv, []string{"X", "Y"}) || c.Sentry.Fingerprint != "" {
		t.Errorf("from the environment: tags %q scrub_env %q fingerprint %q", c.Sentry.Tags, c.Process.ScrubEnv, c.Sentry.Fingerprint)
	}
	if _, err := load(t, "", []string{"PRODWRAP_TAGS=oops"}, nil); err == nil {
		t.Error("PRODWRAP_TAGS=oops accepted")
	}
}
