package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// runVersion implements `prodwrap version`: the module version, VCS revision
// and Go version from the binary's build information.
func runVersion(args []string, std stdio) int {
	fs := flag.NewFlagSet("prodwrap version", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: prodwrap version\n\nPrints prodwrap's version, VCS revision and the Go version it was built with.\n\nExample:\n  prodwrap version")
	}
	if err := fs.Parse(args); err != nil {
		return usageStatus(err)
	}
	if fs.NArg() > 0 {
		return fail(std.err, fmt.Errorf("version takes no arguments, got %q", fs.Arg(0)))
	}
	writeVersion(std.out)
	return exitOK
}

func writeVersion(w io.Writer) {
	version, revision, modified := "(devel)", "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(w, "prodwrap %s\nrevision %s%s\n%s %s/%s\n", version, revision, modified, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
