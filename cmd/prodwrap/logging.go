package main

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"
)

// newLogger returns prodwrap's own logger: JSON lines when stderr is not a
// terminal (journald, container logs and log shippers read them), text for a
// person at a terminal. format "json" or "text" forces one.
func newLogger(w io.Writer, format string, level slog.Level, terminal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	useText := format == "text" || (format != "json" && terminal)
	if useText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
