package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/prodwrap/prodwrap/parse"
)

// Breadcrumbs decodes the log lines that are records of a structured
// logger, JSON objects or logfmt (log/slog's TextHandler, logrus' text
// formatter, zap's console encoder where it writes key=value): message
// from "msg" (log/slog, zap, logrus) or "message" (zerolog); level from
// "level", "lvl" or "severity"; time from "time" (slog, logrus, zerolog),
// "ts" (zap, RFC 3339 or float seconds since the epoch) or "timestamp", as
// RFC 3339; every other key goes to Fields. A log system's prefix before
// the record (journald, Kubernetes CRI: parse.StripPrefix) is not part of
// it. Other lines, plain text among them, are skipped.
func Breadcrumbs(lines []string) []Breadcrumb {
	var out []Breadcrumb
	for _, l := range lines {
		m := decodeRecord(strings.TrimSpace(string(parse.StripPrefix([]byte(l)))))
		if m == nil {
			continue
		}
		b := Breadcrumb{}
		msgKey := ""
		for _, k := range []string{"msg", "message"} {
			if v, ok := m[k].(string); ok {
				b.Message, msgKey = v, k
				break
			}
		}
		if msgKey == "" {
			continue
		}
		delete(m, msgKey)
		for _, k := range []string{"level", "lvl", "severity"} {
			if v, ok := m[k]; ok {
				b.Level = strings.ToLower(fmt.Sprint(v))
				delete(m, k)
				break
			}
		}
		for _, k := range []string{"time", "ts", "timestamp"} {
			if v, ok := m[k]; ok {
				b.Time = normalizeTime(v)
				delete(m, k)
				break
			}
		}
		if len(m) > 0 {
			b.Fields = m
		}
		out = append(out, b)
	}
	return out
}

// decodeRecord decodes a JSON object, or else a logfmt record, into its
// keys and values; nil when l is neither.
func decodeRecord(l string) map[string]any {
	if strings.HasPrefix(l, "{") && strings.HasSuffix(l, "}") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			return nil
		}
		return m
	}
	return decodeLogfmt(l)
}

// decodeLogfmt decodes a logfmt record with github.com/go-logfmt/logfmt.
// A key without "=" is a word of text (a log pipeline's prefix, plain
// text), not a field: it is skipped, so that only the line's key=value
// pairs count. nil when there are none or the line is not logfmt (an
// unterminated quote, a stray "=").
func decodeLogfmt(l string) map[string]any {
	if !strings.Contains(l, "=") {
		return nil
	}
	d := logfmt.NewDecoder(strings.NewReader(l))
	var m map[string]any
	for d.ScanRecord() {
		for d.ScanKeyval() {
			if d.Value() == nil {
				continue
			}
			if m == nil {
				m = map[string]any{}
			}
			m[string(d.Key())] = string(d.Value())
		}
	}
	if d.Err() != nil {
		return nil
	}
	return m
}

func normalizeTime(v any) string {
	switch t := v.(type) {
	case float64:
		sec, frac := math.Modf(t)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339Nano)
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02 15:04:05"} {
			if tt, err := time.Parse(layout, t); err == nil {
				return tt.UTC().Format(time.RFC3339Nano)
			}
		}
		return t
	}
	return fmt.Sprint(v)
}
