package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// The modes of the watcher's lifecycle tests (e2e/lifecycle_test.go): a
// child that outlives a broken pipe. It does not crash the Go way, so it is
// not in zoo.Modes.
func init() {
	modes["sigpipe-writer"] = sigpipeWriter
}

// sigpipeWriter (sigpipe-writer MARKER [BYTES]) ignores SIGPIPE, writes
// BYTES (default 4 MiB) of numbered lines to stdout and as many to
// stderr, alternating, whatever the writes return, then creates MARKER and
// exits 1: a program that runs to completion when its output is cut. Its
// last stderr line is sigpipeWriterDone.
func sigpipeWriter(args []string) {
	signal.Ignore(syscall.SIGPIPE)
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: crasher sigpipe-writer MARKER [BYTES]")
		os.Exit(125)
	}
	n := 4 << 20
	if len(args) > 1 {
		n, _ = strconv.Atoi(args[1])
	}
	var line bytes.Buffer
	for i, written := 0, 0; written < n; i++ {
		line.Reset()
		fmt.Fprintf(&line, "line %d of sigpipe-writer %s\n", i, bytes.Repeat([]byte("x"), 64))
		_, _ = os.Stdout.Write(line.Bytes())
		_, _ = os.Stderr.Write(line.Bytes())
		written += line.Len()
	}
	_, _ = fmt.Fprintln(os.Stderr, sigpipeWriterDone)
	if err := os.WriteFile(args[0], []byte("done\n"), 0o644); err != nil {
		os.Exit(125)
	}
	os.Exit(1)
}

// sigpipeWriterDone is the last line sigpipe-writer writes on stderr.
const sigpipeWriterDone = "sigpipe-writer: done"
