// Command dumper is the child of bench's passthrough benchmarks. Each mode
// prints "start <unix ns>" on stdout when the measured phase begins, so the
// phase is timed whatever its stderr is (/dev/null, a file, a pipe).
//
//	dumper dump N            N goroutines blocked at depths of 5 to 30 frames
//	                         (four kinds of wait, as the crash zoo's
//	                         many-goroutines), then a panic: the Go runtime's
//	                         own dump, as GOTRACEBACK says
//	dumper write BYTES SIZE  BYTES of stderr in writes of SIZE bytes
//	dumper trickle N RATE    N lines at RATE lines a second, each "t=<unix ns>"
//	                         of the moment just before its write
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	arg := func(i int) int {
		n, err := strconv.Atoi(os.Args[i])
		if err != nil {
			fmt.Fprintln(os.Stderr, "dumper:", err)
			os.Exit(2)
		}
		return n
	}
	switch os.Args[1] {
	case "dump":
		dump(arg(2))
	case "write":
		write(arg(2), arg(3))
	case "trickle":
		trickle(arg(2), arg(3))
	default:
		fmt.Fprintln(os.Stderr, "dumper: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func start() { fmt.Printf("start %d\n", time.Now().UnixNano()) }

func dump(n int) {
	var ready sync.WaitGroup
	var mu sync.Mutex
	mu.Lock()
	never := make(chan int)
	for i := range n {
		ready.Add(1)
		depth := 5 + i%26
		switch i % 4 {
		case 0:
			go deep(depth, func() { ready.Done(); <-never })
		case 1:
			go deep(depth, func() { ready.Done(); mu.Lock() })
		case 2:
			go deep(depth, func() {
				ready.Done()
				select {
				case <-never:
				case <-time.After(time.Hour):
				}
			})
		case 3:
			go deep(depth, func() { ready.Done(); time.Sleep(time.Hour) })
		}
	}
	ready.Wait()
	start()
	panic(fmt.Sprintf("%d goroutines are waiting", n))
}

func deep(n int, f func()) {
	if n == 0 {
		f()
		return
	}
	deep(n-1, f)
}

func write(n, size int) {
	buf := bytes.Repeat([]byte("x"), size-1)
	buf = append(buf, '\n')
	start()
	for n > 0 {
		k := min(n, len(buf))
		if _, err := os.Stderr.Write(buf[:k]); err != nil {
			os.Exit(1)
		}
		n -= k
	}
}

func trickle(n, rate int) {
	start()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	line := make([]byte, 0, 64)
	for range n {
		<-tick.C
		line = strconv.AppendInt(append(line[:0], "t="...), time.Now().UnixNano(), 10)
		line = append(line, '\n')
		if _, err := os.Stderr.Write(line); err != nil {
			os.Exit(1)
		}
	}
}
