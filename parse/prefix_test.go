package parse_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prodwrap/prodwrap/parse"
)

// prefixStyles are the per-line prefixes log pipelines add, each as it
// prints line n of a dump.
var prefixStyles = map[string]func(n int) string{
	"journald short":         func(n int) string { return fmt.Sprintf("Nov 24 10:00:%02d host-a api[4121]: ", n%60) },
	"journald short-precise": func(n int) string { return fmt.Sprintf("Nov  4 10:00:%02d.%06d host-a api[4121]: ", n%60, n) },
	"journald short-iso":     func(n int) string { return fmt.Sprintf("2026-11-24T10:00:%02d+0000 host-a api[4121]: ", n%60) },
	"syslog kernel":          func(n int) string { return "Nov 24 10:00:00 host-a kernel: " },
	"kubernetes CRI":         func(n int) string { return fmt.Sprintf("2024-01-01T00:00:00.%09dZ stderr F ", n) },
	"docker logs -t":         func(n int) string { return fmt.Sprintf("2024-01-01T00:00:00.%09dZ ", n) },
	"RFC 3339 offset":        func(n int) string { return "2024-01-01T00:00:00.123+02:00 " },
	"Go log.LstdFlags":       func(n int) string { return "2024/01/02 15:04:05 " },
	"Go log microseconds":    func(n int) string { return fmt.Sprintf("2024/01/02 15:04:05.%06d ", n) },
	"Go log.Ltime":           func(n int) string { return "15:04:05.000123 " },
	"comma millis":           func(n int) string { return "2024-01-02 15:04:05,123 " },
	"dmesg":                  func(n int) string { return fmt.Sprintf("[%5d.%06d] ", 12+n/1000, n) },
	"bracketed date":         func(n int) string { return "[2024-01-02 15:04:05] " },
	"##[error]":              func(n int) string { return "##[error]" },
	"actions time ##[error]": func(n int) string { return fmt.Sprintf("2024-03-05T10:21:33.%07dZ ##[error]", n) },
	"android brief":          func(n int) string { return "E/Go: " },
	"android brief pid":      func(n int) string { return "E/Go      ( 1234): " },
	"android threadtime":     func(n int) string { return fmt.Sprintf("11-24 10:00:00.%03d  1234  1250 E Go      : ", n%1000) },
	"docker compose":         func(n int) string { return "api-1  | " },
	"svlogd -tt":             func(n int) string { return "2024-01-02_15:04:05.12345 " },
	"svlogd -t (TAI64N)":     func(n int) string { return "@400000003b4a39c23294b13c " },
	// Prefixes of no form stripPrefix knows, learnt from the header line.
	"aws logs tail (learnt)":  func(n int) string { return fmt.Sprintf("2024-01-01T00:00:%02d.%06d+00:00 i-0abc123/api ", n%60, n) },
	"heroku (learnt)":         func(n int) string { return fmt.Sprintf("2024-01-01T00:00:00.%06d+00:00 app[web.1]: ", n) },
	"bracketed name (learnt)": func(n int) string { return "[api] " },
	"name and time (learnt)":  func(n int) string { return fmt.Sprintf("api.1 10:00:%02d ", n%60) },
	"mixed CRI and journald": func(n int) string {
		if n%2 == 0 {
			return "2024-01-01T00:00:00.000000000Z stderr F "
		}
		return "Nov 24 10:00:00 host-a api[4121]: "
	},
	"mixed dmesg and ##[error]": func(n int) string {
		if n%3 == 0 {
			return "##[error]"
		}
		return "[   12.345678] "
	},
}

// TestPrefixesGiveTheSameCrash: every dump of testdata, with each prefix
// style put before every line, gives the Crash the clean dump gives (but
// Start, which points into each input).
func TestPrefixesGiveTheSameCrash(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	clean := 0
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if hasPrefixes(in) {
			continue // a golden of a prefix style itself
		}
		clean++
		want, err := parse.Parse(bytes.NewReader(in), testdataOptions(in))
		if err != nil {
			t.Fatal(err)
		}
		want.Start = 0
		lines := strings.SplitAfter(string(in), "\n")
		for name, prefix := range prefixStyles {
			if strings.HasSuffix(name, "(learnt)") && strings.HasPrefix(filepath.Base(f), "cut-") {
				continue // a cut header does not teach a prefix (see learnPrefix)
			}
			var b strings.Builder
			for n, l := range lines {
				if l == "" {
					continue // after the last newline
				}
				b.WriteString(prefix(n))
				b.WriteString(l)
			}
			got, err := parse.Parse(strings.NewReader(b.String()), testdataOptions(in))
			if err != nil {
				t.Errorf("%s with %s: %v", f, name, err)
				continue
			}
			got.Start = 0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s with %s prefixes (-clean +prefixed):\n%s", f, name, diff)
			}
		}
	}
	if clean < 10 {
		t.Fatalf("only %d clean dumps in testdata", clean)
	}
}

// hasPrefixes tells the goldens that are about a log prefix: their first
// line does not start with "#".
func hasPrefixes(in []byte) bool { return len(in) > 0 && in[0] != '#' }

// linePrefixed finds the fixtures whose lines carry a prefix after their
// notes: wrapped with its prefix, a line leaves the later pieces bare
// (TestWrappedWithTheirPrefixGiveTheSameCrash).
var linePrefixed = regexp.MustCompile(`(?m)^([0-9]{4}-[0-9]{2}-[0-9]{2}T|[0-9]{4}/[0-9]{2}/[0-9]{2} |[a-z0-9-]+ +\| )`)

// TestWrappedGiveTheSameCrash: every clean dump of testdata, wrapped at a
// fixed width by a log pipeline (each piece a line of its own, and each
// piece with a log prefix of its own), gives the Crash the clean dump gives
// (but Start).
func TestWrappedGiveTheSameCrash(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	prefixes := map[string]func(n int) string{
		"no prefix":      func(int) string { return "" },
		"kubernetes CRI": prefixStyles["kubernetes CRI"],
		"journald short": prefixStyles["journald short"],
		"dmesg":          prefixStyles["dmesg"],
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if hasPrefixes(in) || linePrefixed.Match(in) {
			continue // a prefix wrapped with its line leaves the later pieces bare
		}
		want, err := parse.Parse(bytes.NewReader(in), testdataOptions(in))
		if err != nil {
			t.Fatal(err)
		}
		want.Start = 0
		for _, width := range []int{80, 100, 120, 160} {
			for name, prefix := range prefixes {
				var b strings.Builder
				n := 0
				lines := strings.Split(strings.TrimSuffix(string(in), "\n"), "\n")
				for i, l := range lines {
					cr := strings.HasSuffix(l, "\r")
					l = strings.TrimSuffix(l, "\r")
					w := width
					if strings.HasPrefix(l, "#") {
						w = len(l) // the fixture's own notes are not the child's
					}
					for {
						piece := l[:min(len(l), w)]
						l = l[len(piece):]
						b.WriteString(prefix(n))
						n++
						b.WriteString(piece)
						if len(l) == 0 {
							break
						}
						if cr {
							b.WriteString("\r")
						}
						b.WriteString("\n")
					}
					if cr {
						b.WriteString("\r")
					}
					if i < len(lines)-1 || strings.HasSuffix(string(in), "\n") {
						b.WriteString("\n")
					}
				}
				got, err := parse.Parse(strings.NewReader(b.String()), testdataOptions(in))
				if err != nil {
					t.Errorf("%s wrapped at %d, %s: %v", f, width, name, err)
					continue
				}
				got.Start = 0
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s wrapped at %d, %s (-clean +wrapped):\n%s", f, width, name, diff)
				}
			}
		}
	}
}

// TestWrappedWithTheirPrefixGiveTheSameCrash: a terminal or a viewer that
// wraps the lines a log system already prefixed leaves every piece after
// the first bare. Every clean dump of testdata, each line prefixed and then
// wrapped at a fixed width, and every fixture whose lines carry a prefix of
// their own, wrapped as they are, give the Crash the unwrapped input gives
// (but Start).
func TestWrappedWithTheirPrefixGiveTheSameCrash(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	styles := []string{"kubernetes CRI", "journald short", "dmesg"}
	tested := 0
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.Base(f), "prefix-learnt-") {
			// Not read: a wrap that cuts the very header line a prefix of
			// no known form is learnt from (lines.go learnPrefix; wrap.go
			// holds only lines that look like a dump's by themselves).
			continue
		}
		inputs := map[string]string{}
		if hasPrefixes(in) || linePrefixed.Match(in) {
			inputs["its own prefixes"] = string(in)
		} else {
			for _, name := range styles {
				var b strings.Builder
				for n, l := range strings.SplitAfter(string(in), "\n") {
					if l != "" {
						b.WriteString(prefixStyles[name](n) + l)
					}
				}
				inputs[name] = b.String()
			}
		}
		for name, text := range inputs {
			want, err := parse.Parse(strings.NewReader(text), testdataOptions(in))
			if err != nil {
				t.Fatalf("%s with %s: %v", f, name, err)
			}
			want.Start = 0
			for _, width := range []int{80, 100, 120, 160} {
				var b strings.Builder
				for _, l := range strings.SplitAfter(text, "\n") {
					nl := strings.HasSuffix(l, "\n")
					l = strings.TrimSuffix(l, "\n")
					cr := strings.HasSuffix(l, "\r")
					l = strings.TrimSuffix(l, "\r")
					if strings.Contains(l, "# ") {
						b.WriteString(l) // the fixture's own notes are not the child's
					} else {
						for len(l) > width {
							b.WriteString(l[:width] + "\n")
							l = l[width:]
						}
						b.WriteString(l)
					}
					if cr {
						b.WriteString("\r")
					}
					if nl {
						b.WriteString("\n")
					}
				}
				got, err := parse.Parse(strings.NewReader(b.String()), testdataOptions(in))
				if err != nil {
					t.Errorf("%s with %s, wrapped at %d: %v", f, name, width, err)
					continue
				}
				tested++
				got.Start = 0
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s with %s, wrapped at %d (-unwrapped +wrapped):\n%s", f, name, width, diff)
				}
			}
		}
	}
	if tested < 100 {
		t.Fatalf("only %d wrapped inputs", tested)
	}
}

// TestWrapBeforeABlank: a wrap at 64 columns falls before a blank inside a
// frame's arguments (" 0x0, 0x0)"); the piece that begins with it is a
// piece, not a space-indented file line, and the frame is read whole.
func TestWrapBeforeABlank(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "go1.20-created-by.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := parse.Parse(bytes.NewReader(in), testdataOptions(in))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	blank := false
	for _, l := range strings.SplitAfter(string(in), "\n") {
		l, nl := strings.CutSuffix(l, "\n")
		for !strings.HasPrefix(l, "#") && len(l) > 64 {
			blank = blank || l[64] == ' '
			b.WriteString(l[:64] + "\n")
			l = l[64:]
		}
		b.WriteString(l)
		if nl {
			b.WriteString("\n")
		}
	}
	if !blank {
		t.Fatal("no piece of the wrapped fixture begins with a blank: the test tests nothing")
	}
	got, err := parse.Parse(strings.NewReader(b.String()), testdataOptions(in))
	if err != nil {
		t.Fatal(err)
	}
	want.Start, got.Start = 0, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrapped at 64 (-clean +wrapped):\n%s", diff)
	}
}
