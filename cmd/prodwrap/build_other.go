//go:build !linux

package main

// prodwrap runs on Linux only (docs/architecture.md, "Platform"): a build
// for any other system stops here, with this name as the first error of
// the package, ahead of the errors of the Linux-only calls it explains.
var _ = prodwrap_requires_linux
