package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Breadcrumbs decodes the log lines that are JSON objects from a structured
// logger: message from "msg" (log/slog, zap, logrus) or "message"
// (zerolog); level from "level" or "lvl"; time from "time" (slog, logrus,
// zerolog) or "ts" (zap, RFC 3339 or float seconds since the epoch), as
// RFC 3339; every other key goes to Fields. Other lines are skipped.
func Breadcrumbs(lines []string) []Breadcrumb {
	var out []Breadcrumb
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
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
