// Package metrics holds prodwrap's Prometheus metrics, for the opt-in
// listener (`[metrics] listen`) and the node_exporter textfile
// (`[metrics] textfile`) of one-shot runs. It imports nothing of
// prodwrap's: the watcher (internal/watch) feeds it.
//
// The registry is prodwrap's own (not the global one). A scrape and the
// textfile gather it together with client_golang's default registry,
// whose Go and process collectors show prodwrap's own health next to the
// child's: client_golang registers those two at its init, in every
// program that links it, so prodwrap pays for them at each start whether
// it uses them or not, and a second pair of its own (package collectors,
// which also links database/sql) was a second cost on the start path
// (issue 18, docs/benchmarks.md).
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are prodwrap's metrics in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	// gatherer gathers Registry and client_golang's default registry (the
	// Go and process collectors).
	gatherer prometheus.Gatherer

	ChildUp        prometheus.Gauge
	Starts         prometheus.Counter
	Exits          *prometheus.CounterVec // kind: clean or the crash kind
	LastStart      prometheus.Gauge
	Reports        *prometheus.CounterVec // sink, result: ok or error
	Spool          prometheus.Gauge
	Delivery       prometheus.Histogram
	InternalErrors prometheus.Counter
}

// New registers the metrics.
func New() *Metrics {
	m := &Metrics{
		Registry:  prometheus.NewRegistry(),
		ChildUp:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "prodwrap_child_up", Help: "1 while the child runs."}),
		Starts:    prometheus.NewCounter(prometheus.CounterOpts{Name: "prodwrap_child_starts_total", Help: "Starts of the child."}),
		Exits:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prodwrap_child_exits_total", Help: "Ends of the child by kind: clean, or the crash kind."}, []string{"kind"}),
		LastStart: prometheus.NewGauge(prometheus.GaugeOpts{Name: "prodwrap_child_last_start_timestamp_seconds", Help: "When the child last started."}),
		Reports:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prodwrap_reports_total", Help: "Deliveries of reports by sink and result."}, []string{"sink", "result"}),
		Spool:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "prodwrap_spool_reports", Help: "Reports waiting in the spool."}),
		Delivery: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "prodwrap_delivery_seconds", Help: "Time to deliver a report to one sink, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		InternalErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "prodwrap_internal_errors_total", Help: "Panics of prodwrap's own code, recovered."}),
	}
	m.Registry.MustRegister(m.ChildUp, m.Starts, m.Exits, m.LastStart, m.Reports, m.Spool, m.Delivery, m.InternalErrors)
	m.gatherer = prometheus.Gatherers{prometheus.DefaultGatherer, m.Registry}
	return m
}

// A nil *Metrics records nothing: prodwrap builds one only when a listener
// or a textfile is configured.

// Started records a start of the child.
func (m *Metrics) Started(at time.Time) {
	if m == nil {
		return
	}
	m.Starts.Inc()
	m.ChildUp.Set(1)
	m.LastStart.Set(float64(at.UnixNano()) / 1e9)
}

// Exited records an end of the child; kind is "clean" or the crash kind.
func (m *Metrics) Exited(kind string) {
	if m == nil {
		return
	}
	m.ChildUp.Set(0)
	m.Exits.WithLabelValues(kind).Inc()
}

// Delivered records one sink's delivery of a report.
func (m *Metrics) Delivered(sink string, ok bool, took time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "error"
	}
	m.Reports.WithLabelValues(sink, result).Inc()
	m.Delivery.Observe(took.Seconds())
}

// RateLimited records a report that waits in the spool because the sink's
// receiver asked for a pause (429, X-Sentry-Rate-Limits): counted as
// prodwrap_reports_total{result="rate_limited"}, apart from errors.
func (m *Metrics) RateLimited(sink string) {
	if m == nil {
		return
	}
	m.Reports.WithLabelValues(sink, "rate_limited").Inc()
}

// Serve serves /metrics on addr until ctx ends. It returns once the
// listener is bound, so a bad address is an error before the child runs.
func (m *Metrics) Serve(ctx context.Context, addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{Registry: m.Registry}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.InternalErrors.Inc()
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr(), nil
}

// WriteTextfile writes the metrics to path in the text exposition format,
// atomically (node_exporter's textfile collector reads whole files only).
func (m *Metrics) WriteTextfile(path string) error {
	if err := prometheus.WriteToTextfile(path, m.gatherer); err != nil {
		return fmt.Errorf("metrics textfile %s: %w", path, err)
	}
	return nil
}

// SetSpool records how many reports wait in the spool.
func (m *Metrics) SetSpool(n int) {
	if m == nil {
		return
	}
	m.Spool.Set(float64(n))
}

// InternalError counts a recovered panic of prodwrap's own code.
func (m *Metrics) InternalError() {
	if m == nil {
		return
	}
	m.InternalErrors.Inc()
}
