// Command crasher crashes in every way a Go program can, one mode an
// invocation: crasher MODE [ARGS]. It is the crash zoo of prodwrap's tests
// (see package zoo for the modes and what each one must produce).
//
// Before crashing, a mode prints "zoo: goroutine=N" on stderr, N being the
// id of the goroutine about to crash as the program itself knows it. The
// line of each crash carries a "crash:MODE" comment that the tests look up.
//
// Built with the zooselfwrap tag, the crasher wraps itself with package
// selfwrap first thing in main: ZOO_SELFWRAP=monitor picks the monitor mode,
// anything else the re-exec mode; it then prints "zoo: pid=N" on stderr.
//
// The cgo-segv mode is built only with the zoocgo tag: a program that uses
// cgo keeps an extra M that hides deadlocks from the runtime's detector, so
// the deadlock modes need a build without it.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prodwrap/prodwrap/internal/testhelper"
)

var modes = map[string]func(args []string){
	"nil-deref":             nilDeref,
	"panic-string":          func([]string) { mark(); panic("something went wrong") },   // crash:panic-string
	"panic-error":           func([]string) { mark(); panic(errors.New("boom error")) }, // crash:panic-error
	"panic-custom":          panicCustom,
	"panic-int":             func([]string) { mark(); panic(42) }, // crash:panic-int
	"goroutine-panic":       goroutinePanic,
	"errgroup-panic":        errgroupPanic,
	"repanic":               repanic,
	"panic-in-defer":        panicInDefer,
	"handlecrash":           handleCrash,
	"multiline":             multiline,
	"index-out-of-range":    indexOutOfRange,
	"divide-by-zero":        divideByZero,
	"close-closed-channel":  closeClosedChannel,
	"nil-map-write":         nilMapWrite,
	"concurrent-map-writes": concurrentMapWrites,
	"deadlock":              deadlock,
	"goexit-deadlock":       goexitDeadlock,
	"stack-overflow":        stackOverflow,
	"oom":                   outOfMemory,
	"unlock-unlocked":       unlockUnlocked,
	"hang":                  hang,
	"timeout":               timeout,
	"race":                  race,
	"many-goroutines":       manyGoroutines,
	"exit":                  exit,
	"log-fatal":             func([]string) { log.Fatal("cannot open database: connection refused") },
	"sigkill-self":          func([]string) { syscall.Kill(os.Getpid(), syscall.SIGKILL); time.Sleep(time.Second) },
	"sigterm-default":       func([]string) { syscall.Kill(os.Getpid(), syscall.SIGTERM); time.Sleep(time.Second) },
	"not-really":            func([]string) { fmt.Fprintln(os.Stderr, "panic: not really") },
	"log-then-crash":        logThenCrash,
	"locked-thread":         lockedThread,
	"generic":               genericPanic,
	"method-value":          methodValue,
	"mid-line":              midLine,
	"cgo-segv":              cgoSegv,
	"write-stderr":          writeStderr,
	"echo-signals":          func([]string) { os.Exit(testhelper.EchoSignals()) },
	"fdinfo":                func([]string) { os.Exit(testhelper.FDInfo()) },
	"grow":                  grow,
	"huge-panic":            hugePanic,
	"sd-notify":             sdNotify,
	"listen-fds":            listenFDs,
}

// wrap, when set (the zooselfwrap build), runs first in main: the crasher
// wraps itself with package selfwrap.
var wrap func()

func main() {
	if wrap != nil {
		wrap()
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crasher MODE [ARGS]")
		os.Exit(2)
	}
	m, ok := modes[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "crasher: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	m(os.Args[2:])
	// Modes that do not crash exit 0.
}

// mark prints the id of the calling goroutine, parsed from its own stack.
func mark() {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.Atoi(string(buf[:bytes.IndexByte(buf, ' ')]))
	fmt.Fprintf(os.Stderr, "zoo: goroutine=%d\n", id)
}

// Server is a stand-in for a service's type, so frames have methods.
type Server struct{ cfg *Config }

// Config is nil in the nil-deref mode.
type Config struct{ Name string }

func (s *Server) handle() string {
	return s.cfg.Name // crash:nil-deref
}

func nilDeref([]string) {
	mark()
	s := &Server{}
	fmt.Println(s.handle())
}

type customErr struct{ code int }

func panicCustom([]string) {
	mark()
	panic(customErr{code: 3}) // crash:panic-custom
}

func goroutinePanic([]string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		mark()
		var m map[string]*Config
		fmt.Println(m["x"].Name) // crash:goroutine-panic
	}()
	<-done
	// The deferred close runs while the goroutine panics; wait for the
	// panic to end the process instead of returning 0 first.
	time.Sleep(10 * time.Second)
}

func errgroupPanic([]string) {
	var g errgroup.Group
	g.Go(func() error {
		mark()
		panic("worker failed") // crash:errgroup-panic
	})
	_ = g.Wait()
	// errgroup's deferred Done runs while the worker panics, so Wait can
	// return before the panic ends the process: do not exit 0 meanwhile.
	time.Sleep(10 * time.Second)
}

func repanic([]string) {
	mark()
	defer func() {
		if r := recover(); r != nil {
			panic(r)
		}
	}()
	work()
}

func work() {
	panic("work failed") // crash:repanic
}

func panicInDefer([]string) {
	mark()
	defer func() {
		panic("second panic in defer")
	}()
	panic("first panic") // crash:panic-in-defer
}

// HandleCrash mimics k8s.io/apimachinery's runtime.HandleCrash: it logs
// and re-panics.
func HandleCrash() {
	if r := recover(); r != nil {
		fmt.Fprintln(os.Stderr, "Observed a panic:", r)
		panic(r)
	}
}

func handleCrash([]string) {
	mark()
	defer HandleCrash()
	controllerSync()
}

func controllerSync() {
	var cfg *Config
	_ = cfg.Name // crash:handlecrash
}

func multiline([]string) {
	mark()
	panic("first line\nsecond line\nthird line") // crash:multiline
}

func indexOutOfRange(args []string) {
	mark()
	s := []int{1, 2, 3}
	i := len(args) + 5
	fmt.Println(s[i]) // crash:index-out-of-range
}

func divideByZero(args []string) {
	mark()
	z := len(args)
	fmt.Println(10 / z) // crash:divide-by-zero
}

func closeClosedChannel([]string) {
	mark()
	c := make(chan int)
	close(c)
	close(c) // crash:close-closed-channel
}

func nilMapWrite([]string) {
	mark()
	var m map[string]int
	//lint:ignore SA5000 writing to a nil map is this mode's crash
	m["a"] = 1 // crash:nil-map-write
}

func concurrentMapWrites([]string) {
	m := map[int]int{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				m[j%100+i] = j // crash:concurrent-map-writes
			}
		}()
	}
	wg.Wait()
}

func deadlock([]string) {
	mark()
	c := make(chan int)
	<-c // crash:deadlock
}

func goexitDeadlock([]string) {
	mark()
	runtime.Goexit()
}

func stackOverflow([]string) {
	mark()
	recurse(0)
}

func recurse(n int) int { // crash:stack-overflow
	var pad [64]byte
	//lint:ignore SA5007 the endless recursion is this mode's crash
	return recurse(n+1) + int(pad[n%64])
}

func outOfMemory([]string) {
	mark()
	// Bound the address space so the allocation fails at once instead of
	// swapping the machine.
	lim := &syscall.Rlimit{Cur: 1 << 30, Max: 1 << 30}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(3)
	}
	var keep [][]byte
	for i := 0; i < 64; i++ {
		keep = append(keep, make([]byte, 256<<20)) // crash:oom
	}
	fmt.Println(len(keep))
}

func unlockUnlocked([]string) {
	mark()
	var mu sync.Mutex
	mu.Unlock() // crash:unlock-unlocked
}

func hang([]string) {
	fmt.Println("ready")
	c := make(chan int)
	go func() {
		time.Sleep(time.Minute)
		c <- 1
	}()
	<-c
}

func timeout([]string) {
	mark()
	panic("test timed out after 1s\n\trunning tests:\n\t\tTestSlow (1s)") // crash:timeout
}

func race([]string) {
	x := 0
	go func() {
		x = 1
	}()
	// Not a synchronization: the write comes first in practice, so the
	// report always starts with this read by the main goroutine.
	time.Sleep(500 * time.Millisecond)
	fmt.Println(x) // crash:race
	time.Sleep(100 * time.Millisecond)
}

// manyGoroutines starts N goroutines blocked in various states at depths of
// 5 to 30 frames, then panics: with GOTRACEBACK=all the dump has N+1
// goroutines.
func manyGoroutines(args []string) {
	n := 1000
	if len(args) > 0 {
		n, _ = strconv.Atoi(args[0])
	}
	var ready sync.WaitGroup
	var mu sync.Mutex
	mu.Lock()
	never := make(chan int)
	sel := make(chan int)
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
				case <-sel:
				}
			})
		case 3:
			go deep(depth, func() { ready.Done(); time.Sleep(time.Hour) })
		}
	}
	ready.Wait()
	mark()
	fmt.Fprintf(os.Stderr, "zoo: dump-start=%d\n", time.Now().UnixNano())
	panic(fmt.Sprintf("%d goroutines are waiting", n)) // crash:many-goroutines
}

func deep(n int, f func()) {
	if n == 0 {
		f()
		return
	}
	deep(n-1, f)
}

func exit(args []string) {
	code := 3
	if len(args) > 0 {
		code, _ = strconv.Atoi(args[0])
	}
	fmt.Fprintln(os.Stderr, "exiting with", code)
	os.Exit(code)
}

func logThenCrash([]string) {
	log.Print("panic: this is only a log line about a recovered panic")
	log.Print("serving requests")
	log.Print("still serving")
	log.Print("and more")
	nilDeref(nil)
}

func lockedThread([]string) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		mark()
		var c *Config
		fmt.Println(c.Name) // crash:locked-thread
		close(done)
	}()
	<-done
}

// Stack is generic so the frames carry [...].
type Stack[T any] struct{ items []T }

// Pop panics on an empty stack.
func (s *Stack[T]) Pop() T {
	v := s.items[len(s.items)-1] // crash:generic
	s.items = s.items[:len(s.items)-1]
	return v
}

func genericPanic([]string) {
	mark()
	var s Stack[string]
	fmt.Println(s.Pop())
}

func (s *Server) fail() {
	panic("method value failed") // crash:method-value
}

func methodValue([]string) {
	mark()
	s := &Server{}
	f := s.fail
	f()
}

func midLine([]string) {
	mark()
	fmt.Fprint(os.Stderr, "2026/11/24 10:00:00 request started, no newline yet")
	var c *Config
	fmt.Println(c.Name) // crash:mid-line
}

// writeStderr writes args[0] bytes to stderr in writes of args[1] bytes
// (default 4096), for throughput benchmarks.
// grow makes itself the OOM killer's first choice and allocates and
// touches memory, a MiB at a time up to 8 GiB, until a memory limit has it
// killed (run it only in a cgroup with a limit); it exits 5 if none did.
func grow([]string) {
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
	var keep [][]byte
	for range 8 << 10 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	fmt.Fprintln(os.Stderr, "grew", len(keep), "MiB and was not killed")
	os.Exit(5)
}

func writeStderr(args []string) {
	n, _ := strconv.Atoi(args[0])
	bs := 4096
	if len(args) > 1 {
		bs, _ = strconv.Atoi(args[1])
	}
	buf := bytes.Repeat([]byte("x"), bs-1)
	buf = append(buf, '\n')
	for n > 0 {
		k := min(n, len(buf))
		if _, err := os.Stderr.Write(buf[:k]); err != nil {
			os.Exit(1)
		}
		n -= k
	}
}

// hugePanic panics with a 10 MB message of two-byte runes, for the
// summaries that must cut it to fit (the termination message).
func hugePanic([]string) {
	mark()
	panic(strings.Repeat("ü", 5<<20)) // crash:huge-panic
}

// sdNotify (sd-notify CODE MSG...) prints the watchdog variables it got
// ("WATCHDOG_USEC=... WATCHDOG_PID=..."), sends each MSG as one datagram
// to $NOTIFY_SOCKET, as sd_notify does, and exits with CODE.
func sdNotify(args []string) {
	fmt.Printf("WATCHDOG_USEC=%s WATCHDOG_PID=%s pid=%d\n", os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
	code, _ := strconv.Atoi(args[0])
	// Raw syscalls, not package net: with cgo, net keeps the runtime from
	// seeing the other modes' deadlocks (see zoo.go).
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sd-notify:", err)
		os.Exit(7)
	}
	to := &syscall.SockaddrUnix{Name: os.Getenv("NOTIFY_SOCKET")}
	for _, m := range args[1:] {
		if err := syscall.Sendto(fd, []byte(m), 0, to); err != nil {
			fmt.Fprintln(os.Stderr, "sd-notify:", err)
			os.Exit(7)
		}
	}
	os.Exit(code)
}

// listenFDs is a socket-activated service, as sd_listen_fds(3) sees one:
// it prints "LISTEN_PID=ok" when LISTEN_PID names its own process (else
// what it names), and answers one connection on descriptor 3 with
// "hello from PID".
func listenFDs([]string) {
	pid := os.Getpid()
	if os.Getenv("LISTEN_PID") != strconv.Itoa(pid) {
		fmt.Printf("LISTEN_PID=%s, not %d\n", os.Getenv("LISTEN_PID"), pid)
		os.Exit(3)
	}
	fmt.Printf("LISTEN_PID=ok LISTEN_FDS=%s LISTEN_FDNAMES=%s\n", os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES"))
	// Raw syscalls, not package net (see sdNotify).
	nfd, _, err := syscall.Accept(3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen-fds:", err)
		os.Exit(5)
	}
	c := os.NewFile(uintptr(nfd), "conn")
	fmt.Fprintf(c, "hello from %d\n", pid)
	c.Close()
}
