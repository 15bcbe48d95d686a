package watch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// JournalMessageID is the MESSAGE_ID of prodwrap's journal entry "a Go
// service crashed" (systemd's catalog convention: a fixed 128-bit id per
// kind of event): `journalctl MESSAGE_ID=6f8a2c1e3b7d4f05a9e1c2d3b4a59687`
// lists every crash prodwrap saw, whatever the service.
const JournalMessageID = "6f8a2c1e3b7d4f05a9e1c2d3b4a59687"

// journalMessageLimit bounds the entry's MESSAGE: one datagram carries the
// whole entry.
const journalMessageLimit = 16 << 10

// journalTimeout bounds the send to journald.
const journalTimeout = time.Second

// JournalStream reports whether f is the stream that JOURNAL_STREAM
// ("DEVICE:INODE", as systemd sets it for a unit whose stderr goes to
// the journal) names: then prodwrap's stderr is the journal, and its
// crash summaries go to journald as structured entries too.
func JournalStream(journalStream string, f *os.File) bool {
	devs, inos, ok := strings.Cut(journalStream, ":")
	if !ok || f == nil {
		return false
	}
	dev, err1 := strconv.ParseUint(devs, 10, 64)
	ino, err2 := strconv.ParseUint(inos, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	// Stat, not Fstat(f.Fd()): Fd would put stderr in blocking mode.
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// journalEntry is the structured entry of a crash, in journald's native
// protocol: PRIORITY=2 (critical), the fixed MESSAGE_ID, the summary as
// MESSAGE, the culprit as CODE_FILE/CODE_LINE/CODE_FUNC, and prodwrap's
// own fields.
func journalEntry(s Summary) []byte {
	r := s.Report
	var b bytes.Buffer
	field := func(k, v string) { appendJournalField(&b, k, v) }
	field("PRIORITY", "2")
	field("MESSAGE_ID", JournalMessageID)
	field("SYSLOG_IDENTIFIER", "prodwrap")
	field("MESSAGE", s.Text(journalMessageLimit))
	if c := r.Crash.Culprit; c != nil {
		field("CODE_FILE", clean(c.File))
		field("CODE_LINE", strconv.Itoa(c.Line))
		field("CODE_FUNC", clean(c.Function))
	}
	field("PRODWRAP_KIND", string(r.Crash.Kind))
	field("PRODWRAP_REPORT_ID", r.ID)
	field("PRODWRAP_SERVICE", r.Service)
	field("PRODWRAP_EXIT_CODE", strconv.Itoa(r.Exit.Code))
	if r.Command.PID != 0 {
		field("PRODWRAP_CHILD_PID", strconv.Itoa(r.Command.PID))
	}
	if s.EventID != "" {
		field("SENTRY_EVENT_ID", s.EventID)
	}
	return b.Bytes()
}

// appendJournalField writes KEY=value and a newline, or, for a value with
// a newline, the binary form: KEY, a newline, the value's length as a
// little-endian uint64, the value, a newline.
func appendJournalField(b *bytes.Buffer, key, value string) {
	if !strings.Contains(value, "\n") {
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return
	}
	b.WriteString(key)
	b.WriteByte('\n')
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(value))))
	b.WriteString(value)
	b.WriteByte('\n')
}

// sendJournal sends one entry to journald's native socket.
func sendJournal(socket string, entry []byte) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(journalTimeout))
	if _, err := c.Write(entry); err != nil {
		return fmt.Errorf("journal %s: %w", socket, err)
	}
	return nil
}
