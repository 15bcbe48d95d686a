package notify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSessionItems(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	attrs := SessionAttrs{Release: "api@1", Environment: "prod"}
	start := func(id string, at time.Time) *SessionUpdate {
		return &SessionUpdate{ID: id, DID: "h", Init: true, Started: at, Timestamp: at, Status: SessionOK, Attrs: attrs}
	}
	end := func(id string, at time.Time, st SessionStatus, errs int) *SessionUpdate {
		return &SessionUpdate{ID: id, DID: "h", Started: at, Timestamp: at.Add(time.Second), Status: st, Errors: errs, Duration: 1, Attrs: attrs}
	}
	withInit := func(u *SessionUpdate) *SessionUpdate { c := *u; c.Init = true; return &c }

	t.Run("a run that goes on", func(t *testing.T) {
		s := start("a", t0)
		single, agg, folded := sessionItems([]*SessionUpdate{s})
		if diff := cmp.Diff([]*SessionUpdate{s}, single); diff != "" || agg != nil || len(folded) != 0 {
			t.Errorf("single mismatch (-want +got):\n%s\nagg %v folded %v", diff, agg, folded)
		}
	})
	t.Run("one run, start and end pending: one update with init", func(t *testing.T) {
		e := end("a", t0, SessionCrashed, 0)
		single, agg, _ := sessionItems([]*SessionUpdate{start("a", t0), e})
		if diff := cmp.Diff([]*SessionUpdate{withInit(e)}, single); diff != "" || agg != nil {
			t.Errorf("single mismatch (-want +got):\n%s\nagg %v", diff, agg)
		}
	})
	t.Run("a crash loop: aggregated, the live run and the end of a known one apart", func(t *testing.T) {
		known := end("k", t0.Add(-time.Hour), SessionCrashed, 0) // its start was sent
		ups := []*SessionUpdate{known}
		for i, st := range []SessionStatus{SessionCrashed, SessionCrashed, SessionAbnormal, SessionExited, SessionExited} {
			at := t0.Add(time.Duration(i*20) * time.Second) // 10:00:30 .. 10:01:50
			id := string(rune('a' + i))
			errs := 0
			if i == 4 {
				errs = 1
			}
			ups = append(ups, start(id, at), end(id, at, st, errs))
		}
		live := start("z", t0.Add(2*time.Minute))
		ups = append(ups, live)
		single, agg, folded := sessionItems(ups)
		if diff := cmp.Diff([]*SessionUpdate{known, live}, single); diff != "" {
			t.Errorf("single mismatch (-want +got):\n%s", diff)
		}
		want := []*SessionAggregates{{Attrs: attrs, Aggregates: []SessionBucket{
			{Started: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), DID: "h", Crashed: 2},
			{Started: time.Date(2026, 12, 1, 10, 1, 0, 0, time.UTC), DID: "h", Abnormal: 1, Exited: 1, Errored: 1},
		}}}
		if diff := cmp.Diff(want, agg); diff != "" {
			t.Errorf("aggregates mismatch (-want +got):\n%s", diff)
		}
		if len(folded) != 5 || folded["k"] || folded["z"] {
			t.Errorf("folded %v", folded)
		}
	})
}

func TestRateLimitFor(t *testing.T) {
	tests := []struct {
		header, category string
		want             time.Duration
	}{
		{"", categorySession, 0},
		{"60:session:org", categorySession, 60 * time.Second},
		{"60:session:org", categoryMonitor, 0},
		{"30::organization, 120:error;monitor:project", categoryMonitor, 120 * time.Second},
		{"30::organization, 120:error:project", categorySession, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := rateLimitFor(tt.header, tt.category); got != tt.want {
			t.Errorf("rateLimitFor(%q, %s) = %v, want %v", tt.header, tt.category, got, tt.want)
		}
	}
}
