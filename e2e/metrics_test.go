package e2e_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

func value(m *dto.Metric) float64 {
	return m.GetGauge().GetValue() + m.GetCounter().GetValue()
}

// labeled returns the value of the family's metric with label=val.
func labeled(f *dto.MetricFamily, label, val string) float64 {
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == val {
				return value(m)
			}
		}
	}
	return -1
}

// TestMetricsAfterACrashAndARestart scrapes a real prodwrap's metrics
// endpoint (on 127.0.0.1) after its child crashed and was restarted, then
// stops it and parses the textfile it leaves.
func TestMetricsAfterACrashAndARestart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	textfile := filepath.Join(dir, "prodwrap.prom")
	crasher := zoo.Build(t, zoo.Plain)
	// The first run crashes; the restarted one stays up.
	script := "if [ -e " + dir + "/crashed ]; then exec sleep 30; else touch " + dir + "/crashed; exec " + crasher + " nil-deref; fi"
	cmd := command(t, prodwrapBin(t), "--", "/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "PRODWRAP_SPOOL="+t.TempDir(), "PRODWRAP_RESTART=on-failure", "PRODWRAP_RESTART_DELAY=50ms",
		"PRODWRAP_METRICS_LISTEN="+addr, "PRODWRAP_METRICS_TEXTFILE="+textfile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			fams, err = parser.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("scrape: %v", err)
			}
			if f := fams["prodwrap_child_starts_total"]; f != nil && value(f.Metric[0]) == 2 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f := fams["prodwrap_child_starts_total"]; f == nil || value(f.Metric[0]) != 2 {
		t.Fatalf("starts_total = %v, want 2\n%s", f, stderr.Bytes())
	}
	if got := labeled(fams["prodwrap_child_exits_total"], "kind", "panic"); got != 1 {
		t.Errorf("exits{kind=panic} = %v, want 1", got)
	}
	if f := fams["prodwrap_child_up"]; f == nil || value(f.Metric[0]) != 1 {
		t.Errorf("child_up = %v, want 1 while the restarted child runs", f)
	}
	if got := labeled(fams["prodwrap_reports_total"], "sink", "file"); got != 1 {
		t.Errorf("reports_total{sink=file} = %v, want 1", got)
	}
	if fams["prodwrap_delivery_seconds"] == nil || fams["prodwrap_spool_reports"] == nil || fams["go_goroutines"] == nil {
		t.Error("delivery histogram, spool gauge or Go collector missing")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	f, err := os.Open(textfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fams, err = parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("textfile is not valid exposition format: %v", err)
	}
	if got := labeled(fams["prodwrap_child_exits_total"], "kind", "killed"); got != 1 {
		t.Errorf("textfile exits{kind=killed} = %v, want 1", got)
	}
	if f := fams["prodwrap_child_starts_total"]; f == nil || value(f.Metric[0]) != 2 {
		t.Errorf("textfile starts_total = %v, want 2", f)
	}
}
