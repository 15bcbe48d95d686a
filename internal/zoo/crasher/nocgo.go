//go:build !zoocgo

package main

import (
	"fmt"
	"os"
)

func cgoSegv([]string) {
	fmt.Fprintln(os.Stderr, "crasher: built without cgo")
	os.Exit(4)
}
