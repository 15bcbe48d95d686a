package supervise_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/prodwrap/prodwrap/supervise"
)

// A child is run like an exec.Cmd; its stderr is passed on and the crash
// dump, from the first line StartsDump accepts, is kept for the report.
func ExampleChild() {
	c := &supervise.Child{
		Path: "/bin/sh",
		Args: []string{"-c", "echo starting >&2; echo 'panic: boom' >&2; exit 2"},
		Capture: supervise.Capture{
			StartsDump: func(line []byte) bool { return bytes.HasPrefix(line, []byte("panic: ")) },
		},
	}
	res, err := c.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer res.Dump.Close()
	fmt.Println(res.ExitCode, res.Tail, res.Dump.Size())
	// This example starts a process; it has no Output comment on purpose.
}
