package metrics_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prodwrap/prodwrap/metrics"
)

func TestServeAndTextfile(t *testing.T) {
	m := metrics.New()
	m.Started(time.Unix(1700000000, 0))
	m.Exited("panic")
	m.Delivered("sentry", true, 30*time.Millisecond)
	m.Delivered("slack", false, time.Second)
	m.RateLimited("sentry")
	m.SetSpool(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape is not valid exposition format: %v", err)
	}
	checks := map[string]float64{
		"prodwrap_child_starts_total":                 1,
		"prodwrap_child_up":                           0,
		"prodwrap_spool_reports":                      1,
		"prodwrap_child_last_start_timestamp_seconds": 1700000000,
	}
	for name, want := range checks {
		f, ok := fams[name]
		if !ok || len(f.Metric) != 1 {
			t.Errorf("%s missing", name)
			continue
		}
		mm := f.Metric[0]
		got := mm.GetGauge().GetValue() + mm.GetCounter().GetValue()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if f := fams["prodwrap_reports_total"]; f == nil || len(f.Metric) != 3 {
		t.Errorf("prodwrap_reports_total: %v", f)
	} else {
		limited := false
		for _, mm := range f.Metric {
			for _, l := range mm.Label {
				if l.GetName() == "result" && l.GetValue() == "rate_limited" && mm.GetCounter().GetValue() == 1 {
					limited = true
				}
			}
		}
		if !limited {
			t.Errorf("no prodwrap_reports_total{result=\"rate_limited\"} = 1: %v", f)
		}
	}
	// The Go and process collectors are client_golang's default
	// registry's, gathered beside prodwrap's own.
	if fams["go_goroutines"] == nil {
		t.Error("no Go collector metrics")
	}
	if fams["process_start_time_seconds"] == nil {
		t.Error("no process collector metrics")
	}

	path := filepath.Join(t.TempDir(), "prodwrap.prom")
	if err := m.WriteTextfile(path); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	if tf, err := p.TextToMetricFamilies(f); err != nil {
		t.Errorf("textfile is not valid exposition format: %v", err)
	} else {
		for _, name := range []string{"prodwrap_child_starts_total", "go_goroutines", "process_start_time_seconds"} {
			if tf[name] == nil {
				t.Errorf("the textfile has no %s", name)
			}
		}
	}
	if _, err := m.Serve(ctx, "not an address"); err == nil {
		t.Error("Serve accepted a bad address")
	}
	var nilM *metrics.Metrics
	nilM.Started(time.Now()) // a nil *Metrics records nothing and does not panic
	nilM.Exited("clean")
}
