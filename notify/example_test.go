package notify_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/prodwrap/prodwrap/notify"
)

// A Dispatcher spools a report durably, then delivers it to every sink.
func ExampleDispatcher() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	spool, err := notify.OpenSpool(dir)
	if err != nil {
		log.Fatal(err)
	}
	file, _ := notify.NewFile(dir + "/reports")
	d := &notify.Dispatcher{Spool: spool, Sinks: []notify.Sink{file}}
	out, err := d.Deliver(context.Background(), testReport("example"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Complete(), out.Acked)
	// Output: true [file]
}
