package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/notify"
)

// BenchmarkDrainBacklog drains a spool of b.N reports to a local webhook
// receiver, with one flusher and with four (each with its own Spool, as
// processes have), and reports reports/s. go test -run ^$ -bench
// DrainBacklog -benchtime 10000x ./notify drains 10,000.
func BenchmarkDrainBacklog(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	for _, flushers := range []int{1, 4} {
		b.Run(fmt.Sprintf("flushers=%d", flushers), func(b *testing.B) {
			dir := b.TempDir()
			sp, err := notify.OpenSpool(dir)
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				e, err := sp.Put(testReport(fmt.Sprintf("r-%07d", i)))
				if err != nil {
					b.Fatal(err)
				}
				sp.Release(e)
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range flushers {
				wg.Go(func() {
					own, _ := notify.OpenSpool(dir)
					hook, _ := notify.NewWebhook(notify.WebhookOptions{URL: srv.URL})
					d := &notify.Dispatcher{Spool: own, Sinks: []notify.Sink{hook}, Deadline: time.Hour}
					for {
						res, _ := d.Flush(context.Background())
						if res.Delivered == 0 && res.Busy == 0 {
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reports/s")
			if entries, _ := sp.List(); len(entries) != 0 {
				b.Fatalf("%d entries left", len(entries))
			}
		})
	}
}

// BenchmarkClaim is the cost of a claim taken and given back on a listed
// entry: what every flush pays per entry on top of the delivery.
func BenchmarkClaim(b *testing.B) {
	sp, err := notify.OpenSpool(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	e, err := sp.Put(testReport("claimed"))
	if err != nil {
		b.Fatal(err)
	}
	sp.Release(e)
	entries, _ := sp.List()
	b.ResetTimer()
	for range b.N {
		c, err := notify.ClaimForTest(sp, entries[0])
		if err != nil {
			b.Fatal(err)
		}
		sp.Release(c)
	}
}
