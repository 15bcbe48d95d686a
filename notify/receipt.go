package notify

import (
	"context"

	"github.com/prodwrap/prodwrap/report"
)

// Receipts maps the name of a sink that acknowledged a report to what its
// acknowledgement carries that a later sink may show: the Sentry event id
// that the Slack message names. They are kept in the spool entry beside the
// acknowledgements, so that a later flush shows the same; the report itself
// is never changed by a sink.
type Receipts map[string]string

// Receipter is implemented by the sinks whose acknowledgement carries
// something another sink shows. Receipt is called after the sink
// acknowledged r.
type Receipter interface {
	Receipt(r *report.Report) string
}

type receiptsKey struct{}

// withReceipts hands the receipts gathered so far to the next sink.
func withReceipts(ctx context.Context, rs Receipts) context.Context {
	return context.WithValue(ctx, receiptsKey{}, rs)
}

// ReceiptsFrom returns the receipts of the sinks that acknowledged the
// report before the sink now called (the Dispatcher tries sinks in order),
// nil outside a delivery. The map must not be changed.
func ReceiptsFrom(ctx context.Context) Receipts {
	rs, _ := ctx.Value(receiptsKey{}).(Receipts)
	return rs
}
