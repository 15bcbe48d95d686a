package watch

import (
	"testing"

	"github.com/prodwrap/prodwrap/notify"
	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

func TestSessionStatus(t *testing.T) {
	sig := "SIGKILL"
	rep := func(kind parse.Kind, signal *string, dump bool) *report.Report {
		r := &report.Report{Crash: &parse.Crash{Kind: kind}, Exit: report.Exit{Signal: signal}}
		if dump {
			r.Crash.Goroutine = &parse.Goroutine{ID: 1}
		}
		return r
	}
	tests := []struct {
		name    string
		code    int
		rep     *report.Report
		stopped bool
		want    notify.SessionStatus
		errors  int
	}{
		{"clean", 0, nil, false, notify.SessionExited, 0},
		{"exit 3", 3, rep(parse.KindExit, nil, false), false, notify.SessionExited, 1},
		{"panic", 2, rep(parse.KindPanic, nil, true), false, notify.SessionCrashed, 0},
		{"deadlock", 2, rep(parse.KindDeadlock, nil, true), false, notify.SessionCrashed, 0},
		{"oom dump", 2, rep(parse.KindOOM, nil, true), false, notify.SessionCrashed, 0},
		{"oom kill", 137, rep(parse.KindOOM, &sig, false), false, notify.SessionAbnormal, 0},
		{"race", 66, rep(parse.KindRace, nil, true), false, notify.SessionCrashed, 0},
		{"killed", 137, rep(parse.KindKilled, &sig, false), false, notify.SessionAbnormal, 0},
		{"stopped", 143, rep(parse.KindKilled, &sig, false), true, notify.SessionExited, 0},
		{"panic while stopping", 2, rep(parse.KindPanic, nil, true), true, notify.SessionCrashed, 0},
		{"no report", 125, nil, false, notify.SessionAbnormal, 0},
	}
	for _, tt := range tests {
		st, errs := sessionStatus(tt.code, tt.rep, tt.stopped)
		if st != tt.want || errs != tt.errors {
			t.Errorf("%s: %s with %d errors, want %s with %d", tt.name, st, errs, tt.want, tt.errors)
		}
	}
}

func TestHostIDIsStable(t *testing.T) {
	a, b := hostID(), hostID()
	if a != b || len(a) != 32 {
		t.Errorf("hostID %q then %q", a, b)
	}
}
