package notify

import (
	"cmp"
	"slices"
	"time"
)

// SessionStatus is the status of a Sentry release-health session
// (https://develop.sentry.dev/sdk/telemetry/sessions/).
type SessionStatus string

// The statuses of a session. A session is ok while the child runs; its
// final update says how the run ended.
const (
	// SessionOK: the child runs.
	SessionOK SessionStatus = "ok"
	// SessionExited: the child ended without a crash. With errors > 0
	// (a non-zero exit without a dump: log.Fatal, os.Exit(3)) Sentry counts
	// it as errored.
	SessionExited SessionStatus = "exited"
	// SessionCrashed: the child died of a Go crash (a panic, a fatal
	// error, a deadlock, an out-of-memory dump, a runtime signal report, a
	// race report...).
	SessionCrashed SessionStatus = "crashed"
	// SessionAbnormal: the child was killed by a signal with no dump (an
	// operator's SIGKILL, the OOM killer).
	SessionAbnormal SessionStatus = "abnormal"
)

// SessionAttrs are what Sentry groups sessions by. Sentry drops a session
// without a release.
type SessionAttrs struct {
	Release     string `json:"release"`
	Environment string `json:"environment,omitempty"`
}

// SessionUpdate is the payload of a `session` envelope item: one session,
// at its start (Init, status ok) or at its end (its final status and
// duration).
type SessionUpdate struct {
	// ID is the session id (sid), a UUID; the start and the end of one
	// run share it.
	ID string `json:"sid"`
	// DID is the distinct id: the host, for prodwrap.
	DID string `json:"did,omitempty"`
	// Init is true on the first update Sentry gets of a session.
	Init      bool          `json:"init,omitempty"`
	Started   time.Time     `json:"started"`
	Timestamp time.Time     `json:"timestamp"`
	Status    SessionStatus `json:"status"`
	// Errors counts the errors of the session: 1 for a non-zero exit.
	Errors int `json:"errors"`
	// Duration is the run time in seconds, on the final update.
	Duration float64      `json:"duration,omitempty"`
	Attrs    SessionAttrs `json:"attrs"`
}

// final reports whether u ends its session.
func (u *SessionUpdate) final() bool { return u.Status != SessionOK }

// SessionAggregates is the payload of a `sessions` envelope item: ended
// sessions counted by the minute they started in, by status. prodwrap
// sends it for the runs of a crash loop that Sentry never heard of
// before they ended, instead of one session item each.
type SessionAggregates struct {
	Aggregates []SessionBucket `json:"aggregates"`
	Attrs      SessionAttrs    `json:"attrs"`
}

// SessionBucket counts the sessions that started in one minute on one
// host, by final status. Errored counts the exited sessions with errors.
type SessionBucket struct {
	Started  time.Time `json:"started"`
	DID      string    `json:"did,omitempty"`
	Exited   int       `json:"exited,omitempty"`
	Errored  int       `json:"errored,omitempty"`
	Abnormal int       `json:"abnormal,omitempty"`
	Crashed  int       `json:"crashed,omitempty"`
}

// aggregate counts ended sessions (their final updates) into one
// SessionAggregates per attrs, buckets sorted by start.
func aggregate(ended []*SessionUpdate) []*SessionAggregates {
	type key struct {
		attrs   SessionAttrs
		started time.Time
		did     string
	}
	buckets := map[key]*SessionBucket{}
	var order []key
	for _, u := range ended {
		k := key{u.Attrs, u.Started.UTC().Truncate(time.Minute), u.DID}
		b := buckets[k]
		if b == nil {
			b = &SessionBucket{Started: k.started, DID: k.did}
			buckets[k] = b
			order = append(order, k)
		}
		switch {
		case u.Status == SessionCrashed:
			b.Crashed++
		case u.Status == SessionAbnormal:
			b.Abnormal++
		case u.Errors > 0:
			b.Errored++
		default:
			b.Exited++
		}
	}
	byAttrs := map[SessionAttrs]*SessionAggregates{}
	var out []*SessionAggregates
	for _, k := range order {
		a := byAttrs[k.attrs]
		if a == nil {
			a = &SessionAggregates{Attrs: k.attrs}
			byAttrs[k.attrs] = a
			out = append(out, a)
		}
		a.Aggregates = append(a.Aggregates, *buckets[k])
	}
	for _, a := range out {
		slices.SortStableFunc(a.Aggregates, func(x, y SessionBucket) int { return x.Started.Compare(y.Started) })
	}
	return out
}

// sessionItems turns the pending updates of sessions, oldest first, into
// what one envelope carries: individual updates, and the aggregates of the
// sessions that started and ended unseen by Sentry when there are several
// (a crash loop, or runs spooled while the receiver was down): folded
// holds their ids. A single session whose start and end are both pending
// is sent once, its start folded into its end.
func sessionItems(updates []*SessionUpdate) (single []*SessionUpdate, agg []*SessionAggregates, folded map[string]bool) {
	starts := map[string]*SessionUpdate{}
	for _, u := range updates {
		if u.Init && !u.final() {
			starts[u.ID] = u
		}
	}
	var unseen []*SessionUpdate // ended sessions whose start is pending too
	for _, u := range updates {
		if u.final() && starts[u.ID] != nil {
			unseen = append(unseen, u)
		}
	}
	folded = map[string]bool{}
	if len(unseen) >= 2 {
		for _, u := range unseen {
			folded[u.ID] = true
		}
		agg = aggregate(unseen)
	}
	ended := map[string]bool{}
	for _, u := range updates {
		if u.final() {
			ended[u.ID] = true
		}
	}
	for _, u := range updates {
		switch {
		case folded[u.ID]:
		case !u.final() && ended[u.ID]:
			// The start of an ended session: the end carries init.
		case u.final() && starts[u.ID] != nil:
			c := *u
			c.Init = true
			single = append(single, &c)
		default:
			single = append(single, u)
		}
	}
	slices.SortStableFunc(single, func(a, b *SessionUpdate) int { return cmp.Compare(a.Timestamp.UnixNano(), b.Timestamp.UnixNano()) })
	return single, agg, folded
}
