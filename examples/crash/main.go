// Command crash is a small service that crashes the way real services do:
// a request handler's goroutine dereferences a nil pointer, which no
// recover() in main can catch. The README runs it under prodwrap to show a
// crash report with no configuration:
//
//	go build -o bin/ ./cmd/prodwrap ./examples/crash && bin/prodwrap -- bin/crash
package main

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Order is what the handler works on; Customer is nil for a guest order,
// which is the bug.
type Order struct {
	ID       int
	Customer *Customer
}

// Customer owns an order.
type Customer struct{ Name string }

func handle(o *Order) string {
	return fmt.Sprintf("order %d for %s", o.ID, o.Customer.Name) // nil Customer: the crash
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	orders := []*Order{{ID: 1, Customer: &Customer{Name: "ada"}}, {ID: 2}}
	var wg sync.WaitGroup
	for _, o := range orders {
		logger.Info("handling order", "order", o.ID)
		wg.Add(1)
		go func() {
			// Not deferred: a deferred Done would run while the panic
			// unwinds and let main return, exiting 0, before the runtime
			// printed the panic and exited 2.
			fmt.Println(handle(o))
			wg.Done()
		}()
		wg.Wait()
	}
}
