package parse

import "bytes"

// StripPrefix returns line without the log-system prefixes Parse knows on
// a line by itself (doc.go, "Line grammar": syslog and journald, RFC 3339
// and Go log times, Kubernetes CRI, dmesg, CI runners, logcat, compose,
// TAI64N; up to three, stacked) and without a trailing "\r". A prefix that
// Parse learns from the line of a header is not known here. The result
// shares line's bytes. Callers that read the log lines before a dump (the
// report's breadcrumbs) use it to see a line as the program wrote it.
func StripPrefix(line []byte) []byte {
	return stripPrefix(bytes.TrimSuffix(line, []byte{'\r'}))
}
