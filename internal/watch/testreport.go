package watch

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prodwrap/prodwrap/parse"
	"github.com/prodwrap/prodwrap/report"
)

// TestTag is the tag that marks a test report: "true" on every report
// SendTest makes, and on no other.
const TestTag = "prodwrap_test"

// TestMessage is the crash message of a test report.
const TestMessage = "prodwrap test report: not a crash; sent by `prodwrap test` to check that this sink is reachable"

// SinkResult is what one sink did with the test report.
type SinkResult struct {
	// Sink is the sink's name ("file", "sentry", "slack", "webhook:ops").
	Sink string
	// Err is nil when the sink acknowledged the report.
	Err error
	// Where says where the report went when the sink shows it: the file
	// sink's file, Sentry's event id.
	Where string
}

// NewTestReport is a synthetic report, marked as a test everywhere a
// reader looks: its message (TestMessage), its tags (TestTag), its
// fingerprint (its own id, so that no flood window holds it back and
// Sentry groups it with nothing real). Its kind is panic, a kind of
// docs/architecture.md's "Report model", so that each sink shows it as it would show a crash.
func (r *Reporter) NewTestReport() *report.Report {
	frame := parse.Frame{Function: "main.main", Package: "main", File: "prodwrap-test.go", Line: 1, InApp: true}
	ref := &parse.FrameRef{Function: frame.Function, File: frame.File, Line: frame.Line}
	rep := r.New(report.Input{
		Crash: &parse.Crash{
			Kind: parse.KindPanic, Crashing: true, Message: TestMessage,
			Goroutine: &parse.Goroutine{ID: 1, State: "running", Frames: []parse.Frame{frame}},
			TopFrame:  ref, Origin: ref, Culprit: ref, Goroutines: 1, Buckets: []parse.Bucket{},
		},
		Exit:   report.Exit{Code: report.GoCrashStatus},
		Path:   "prodwrap-test",
		Output: []byte("panic: " + TestMessage + "\n\ngoroutine 1 [running]:\nmain.main()\n\tprodwrap-test.go:1 +0x1d\n"),
	})
	if rep.Service == "" {
		rep.Service = "prodwrap-test"
	}
	if rep.Tags == nil {
		rep.Tags = map[string]string{}
	}
	rep.Tags[TestTag] = "true"
	rep.Fingerprint = []string{"prodwrap-test", rep.ID}
	return rep
}

// SendTest delivers a test report (NewTestReport) to every configured
// sink, through the spool as any report, and returns one result per sink,
// in the sinks' order. The report never stays in the spool: delivered to
// every sink, it is removed as any report is; when a sink failed, it is
// removed all the same — a test report retried by a later flush would
// reach the sinks when no one is waiting for it.
func (r *Reporter) SendTest(ctx context.Context) ([]SinkResult, error) {
	rep := r.NewTestReport()
	// The dispatcher's own lines would say the report waits in the spool
	// for a retry; this one does not, and the caller shows each failure.
	d := *r.deliv.Dispatcher
	d.Logger = slog.New(slog.DiscardHandler)
	out, err := d.Deliver(ctx, rep)
	if err != nil {
		r.logger.Warn("the test report could not be spooled; it was sent from memory", "err", err)
	}
	if out.Entry != nil && !out.Complete() {
		if rerr := r.deliv.Spool.Remove(out.Entry); rerr != nil {
			return nil, fmt.Errorf("cannot remove the test report from the spool: %w", rerr)
		}
	}
	results := make([]SinkResult, 0, len(r.deliv.Dispatcher.Sinks))
	for _, s := range r.deliv.Dispatcher.Sinks {
		res := SinkResult{Sink: s.Name(), Err: out.Failed[s.Name()]}
		if res.Err == nil {
			switch {
			case r.deliv.file != nil && s.Name() == "file":
				res.Where = r.deliv.file.Path(rep)
			case s.Name() == "sentry" && SentryEventID(out) != "":
				res.Where = "event " + SentryEventID(out)
			}
		}
		results = append(results, res)
	}
	return results, nil
}
