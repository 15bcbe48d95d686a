package watch

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/prodwrap/prodwrap/config"
)

// NewLogger returns prodwrap's own logger: JSON lines when stderr is not a
// terminal (journald, container logs and log shippers read them), text for
// a person at a terminal; [log] format "json" or "text" forces one, and
// [log] level sets the level.
func NewLogger(w io.Writer, cfg *config.Config, terminal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevel(cfg.Log.Level)}
	format := cfg.Log.Format
	useText := format == "text" || (format != "json" && terminal)
	if useText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}
