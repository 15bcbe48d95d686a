// Command selfwrap-reexec reports its own crashes with one line at the top
// of main, in selfwrap's re-exec mode: the process started becomes the
// watcher (it keeps the PID, forwards signals and exits with the program's
// status) and the program runs again as its child. Here a worker goroutine
// the way a third-party library would start one panics, which no recover()
// in main can catch:
//
//	go build -o bin/ ./examples/selfwrap-reexec && PRODWRAP_SPOOL=$PWD/.prodwrap bin/selfwrap-reexec
package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/prodwrap/prodwrap/selfwrap"
)

func main() {
	selfwrap.Main(selfwrap.Options{Mode: selfwrap.ReExec})

	fmt.Fprintf(os.Stderr, "worker pool starting (pid %d)\n", os.Getpid())
	var wg sync.WaitGroup
	jobs := map[string][]int{"ok": {1, 2}, "broken": nil}
	for name, job := range jobs {
		wg.Add(1)
		go func() {
			fmt.Println(name, job[1]) // index out of range for the broken job: the crash
			wg.Done()                 // not deferred: main must not return while the panic unwinds
		}()
	}
	wg.Wait()
}
