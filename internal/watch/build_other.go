//go:build !linux

package watch

// prodwrap runs on Linux only (docs/architecture.md, "Platform"): a build
// for any other system stops here, with this name as the package's first
// error, ahead of the errors of the Linux-only calls it explains. It is a
// type because the compiler checks type declarations first, file by file.
type _ prodwrap_requires_linux
