package parse_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/prodwrap/prodwrap/parse"
)

func ExampleParse() {
	stderr := `listening on :8080
panic: runtime error: index out of range [5] with length 3

goroutine 7 [running]:
main.(*Server).handle(0xc000010000, 0x5)
	/src/api/server.go:42 +0x1d
created by main.(*Server).serve in goroutine 1
	/src/api/server.go:29 +0x99
`
	c, err := parse.Parse(strings.NewReader(stderr), parse.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Kind, c.Message)
	fmt.Printf("goroutine %d at %s:%d\n", c.Goroutine.ID, c.Culprit.File, c.Culprit.Line)
	// Output:
	// panic runtime error: index out of range [5] with length 3
	// goroutine 7 at /src/api/server.go:42
}

func ExampleWriteText() {
	c, _ := parse.Parse(strings.NewReader("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\t/src/app/main.go:9 +0x25\n"), parse.DefaultOptions())
	parse.WriteText(os.Stdout, c)
	// Output:
	// kind:     deadlock
	// message:  all goroutines are asleep - deadlock!
	// culprit:  main.main (/src/app/main.go:9)
	// goroutines: 1
	//
	// first goroutine 1 [chan receive]:
	//  *main.main
	//       /src/app/main.go:9
}

// The Crash says where its dump begins, so the dump can be kept apart from
// the log lines before it.
func ExampleParse_start() {
	stderr := "listening on :8080\nrequest 1 done\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:9 +0x25\nexit status 2\n"
	c, err := parse.Parse(strings.NewReader(stderr), parse.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("log:\n%s", stderr[:c.Start])
	fmt.Printf("dump starts with %q\n", strings.SplitN(stderr[c.Start:], "\n", 2)[0])
	// Output:
	// log:
	// listening on :8080
	// request 1 done
	// dump starts with "panic: boom"
}
