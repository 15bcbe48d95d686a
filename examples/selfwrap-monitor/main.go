// Command selfwrap-monitor reports its own crashes with one line at the top
// of main, in selfwrap's monitor mode: the program keeps its process and PID,
// and a small monitor process it starts receives the runtime's crash output
// (runtime/debug.SetCrashOutput) and reports it. Here two goroutines write
// one map at once, a fatal error no recover() can catch:
//
//	go build -o bin/ ./examples/selfwrap-monitor && PRODWRAP_SPOOL=$PWD/.prodwrap bin/selfwrap-monitor
package main

import (
	"fmt"
	"os"

	"github.com/prodwrap/prodwrap/report"
	"github.com/prodwrap/prodwrap/selfwrap"
)

func main() {
	selfwrap.Main(selfwrap.Options{
		Mode: selfwrap.Monitor,
		OnReport: func(r *report.Report) {
			r.Tags = map[string]string{"team": "examples"}
		},
	})

	fmt.Fprintf(os.Stderr, "cache warming up (pid %d)\n", os.Getpid())
	cache := map[int]int{}
	for w := range 2 {
		go func() {
			for i := 0; ; i++ {
				cache[i%64] = w // concurrent map writes: the crash
			}
		}()
	}
	// The writers run until the runtime catches them (it checks by
	// chance, so no fixed number of writes is sure to be caught).
	select {}
}
