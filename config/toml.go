package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The file is decoded in two steps: BurntSushi/toml parses it into
// primitives, and decodeFile walks them with the settings table, so that
// every value is type-checked against its setting (not only those a Go type
// would refuse: a string where a table is expected is an error too) and
// every error names the key and its line.

// tomlFile is a parsed configuration file.
type tomlFile struct {
	path string
	data []byte
	md   *toml.MetaData
}

// errProbe is what the probe below returns to make the decoder tell the
// position of a key.
var errProbe = errors.New("probe")

// probe is a toml.Unmarshaler that keeps the raw value it is given and
// fails, so that the decoder reports the position of the key it was
// decoding (BurntSushi/toml keeps key positions private, but puts them in
// the errors of the values it decodes).
type probe struct{ v *any }

func (p probe) UnmarshalTOML(v any) error { *p.v = v; return errProbe }

// at returns the raw value of a primitive (string, int64, float64, bool,
// a time, []any, map[string]any, []map[string]any) and the line of its key,
// 0 when the key has none (an implicit table).
func (f *tomlFile) at(p toml.Primitive) (any, int) {
	var v any
	err := f.md.PrimitiveDecode(p, probe{&v})
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return v, pe.Position.Line
	}
	return v, 0
}

// entry is a key of a table, with its value and line.
type entry struct {
	name string
	prim toml.Primitive
	v    any
	line int
}

// entries returns the keys of the table p in the order of the file.
func (f *tomlFile) entries(p toml.Primitive) ([]entry, error) {
	var m map[string]toml.Primitive
	if err := f.md.PrimitiveDecode(p, &m); err != nil {
		return nil, err
	}
	return f.sorted(m), nil
}

// sorted returns the keys of a table in the order of the file.
func (f *tomlFile) sorted(m map[string]toml.Primitive) []entry {
	out := make([]entry, 0, len(m))
	for name, prim := range m {
		v, line := f.at(prim)
		out = append(out, entry{name, prim, v, line})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].line != out[j].line {
			return out[i].line < out[j].line
		}
		return out[i].name < out[j].name
	})
	return out
}

// errorAt is an *Error about key at line.
func (f *tomlFile) errorAt(line int, key string, err error) *Error {
	return &Error{Source: f.path, Line: line, Col: keyCol(f.data, line), Key: key, Err: err}
}

func (f *tomlFile) unknown(line int, key string, known []string) *Error {
	msg := "unknown key"
	if s := suggest(key, known); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return &Error{Source: f.path, Line: line, Key: key,
		Err: errors.New(msg + " (known keys: see config.example.toml or prodwrap check-config)")}
}

// decodeFile reads the TOML file at path into c, strictly: every key known,
// every value of its setting's type. A secret written as "***" (as
// check-config prints it) is left to its other sources; checkMasked
// refuses it when none gave it a value. Each error goes to p: a strict load
// stops at the first, a lenient one leaves the key out (a file that cannot
// be read or parsed, the whole file; a [[webhook]] with an error, the whole
// webhook).
func (c *Config) decodeFile(path string, p *problems) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return p.add(&Error{Source: path, Err: fmt.Errorf("cannot read the configuration: %w", err)})
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return p.add(&Error{Source: path, Line: pe.Position.Line, Col: pe.Position.Col, Key: pe.LastKey, Err: errors.New(pe.Message)})
		}
		return p.add(&Error{Source: path, Err: err})
	}
	f := &tomlFile{path: path, data: data, md: &md}
	c.Path = path
	// The sections, for suggestions among them.
	sections := []string{"webhook"}
	for _, s := range settings {
		if sec, _ := splitKey(s.key); sec != "" && !slices.Contains(sections, sec) {
			sections = append(sections, sec)
		}
	}
	for _, t := range f.sorted(top) {
		if t.name == "webhook" {
			if err := c.decodeWebhooks(f, t, p); err != nil {
				return err
			}
			continue
		}
		if s := settingByKey(t.name); s != nil && !strings.Contains(s.key, ".") {
			// A key of no section (strict).
			if err := c.decodeValue(f, s, t, p); err != nil {
				return err
			}
			continue
		}
		if !slices.Contains(sections, t.name) {
			var known []string
			for _, k := range Keys() {
				if !strings.Contains(k, ".") {
					known = append(known, k)
				}
			}
			if err := p.add(f.unknown(t.line, t.name, append(known, sections...))); err != nil {
				return err
			}
			continue
		}
		if !isTable(t.v) {
			if err := p.add(f.errorAt(t.line, t.name, wrongType(t.v, "a table (["+t.name+"])"))); err != nil {
				return err
			}
			continue
		}
		keys, err := f.entries(t.prim)
		if err != nil {
			if err := p.add(f.errorAt(t.line, t.name, err)); err != nil {
				return err
			}
			continue
		}
		for _, k := range keys {
			full := t.name + "." + k.name
			s := settingByKey(full)
			if s == nil {
				if err := p.add(f.unknown(k.line, full, Keys())); err != nil {
					return err
				}
				continue
			}
			k.name = full
			if err := c.decodeValue(f, s, k, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeValue reads the value of one setting (k.name is its key).
func (c *Config) decodeValue(f *tomlFile, s *setting, k entry, p *problems) error {
	v, err := s.parseTOML(k.v)
	if err != nil {
		return p.add(f.errorAt(k.line, k.name, err))
	}
	o := origin{src: FromFile, line: k.line, col: keyCol(f.data, k.line)}
	if s.kind == kindSecret && v == Masked {
		o.masked = true
	} else {
		s.store(c, v)
	}
	c.setOrigin(k.name, o)
	return nil
}

// decodeWebhooks reads the [[webhook]] tables.
func (c *Config) decodeWebhooks(f *tomlFile, t entry, p *problems) error {
	var list []toml.Primitive
	if err := f.md.PrimitiveDecode(t.prim, &list); err != nil {
		return p.add(f.errorAt(t.line, "webhook", wrongType(t.v, "an array of tables ([[webhook]])")))
	}
	blocks := tableBlocks(f.data, "webhook")
	for i, prim := range list {
		if v, _ := f.at(prim); !isTable(v) {
			if err := p.add(f.errorAt(t.line, "webhook", wrongType(v, "an array of tables ([[webhook]])"))); err != nil {
				return err
			}
			continue
		}
		line := t.line
		if i < len(blocks) {
			line = blocks[i][0]
		}
		// BurntSushi/toml keeps one position per key path, the last table's;
		// each key's line is found again in the i-th [[webhook]] block.
		lineOf := func(key string, fallback int) int {
			if i < len(blocks) {
				if l := keyLineIn(f.data, blocks[i], key); l > 0 {
					return l
				}
			}
			return fallback
		}
		w, origins, err := decodeWebhook(f, prim, len(c.Webhooks), line, lineOf)
		if err != nil {
			if err := p.add(err); err != nil {
				return err
			}
			continue
		}
		c.Webhooks = append(c.Webhooks, w)
		for k, o := range origins {
			c.setOrigin(k, o)
		}
	}
	return nil
}

// decodeWebhook reads one [[webhook]] table, the n-th webhook, whose
// header is at line.
func decodeWebhook(f *tomlFile, prim toml.Primitive, n, line int, lineOf func(string, int) int) (Webhook, map[string]origin, *Error) {
	var w Webhook
	origins := map[string]origin{}
	keys, err := f.entries(prim)
	if err != nil {
		return w, nil, f.errorAt(line, "webhook", err)
	}
	at := func(l int) origin { return origin{src: FromFile, line: l, col: keyCol(f.data, l)} }
	for _, k := range keys {
		key := fmt.Sprintf("webhook[%d].%s", n, k.name)
		kline := lineOf(k.name, k.line)
		if k.name == "headers" {
			m, ok := k.v.(map[string]any)
			if !ok {
				return w, nil, f.errorAt(kline, key, wrongType(k.v, `a table of header names and values, such as { Authorization = "Bearer ..." }`))
			}
			names := make([]string, 0, len(m))
			for name := range m {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				hline := lineOf("headers."+name, kline)
				v, ok := m[name].(string)
				if !ok {
					return w, nil, f.errorAt(hline, key+"."+name, wrongType(m[name], "a string"))
				}
				o := at(hline)
				if v == Masked {
					o.masked = true
				} else {
					if w.Headers == nil {
						w.Headers = map[string]Secret{}
					}
					w.Headers[name] = Secret(v)
				}
				origins[key+"."+name] = o
			}
			continue
		}
		if !slices.Contains(webhookKeys, k.name) {
			return w, nil, f.unknown(kline, "webhook."+k.name, Keys())
		}
		str, ok := k.v.(string)
		if !ok {
			return w, nil, f.errorAt(kline, key, wrongType(k.v, "a string"))
		}
		o := at(kline)
		switch k.name {
		case "name":
			w.Name = str
		case "url":
			if str == Masked {
				o.masked = true
			} else {
				w.URL = Secret(str)
			}
		case "url_file":
			w.URLFile = str
		}
		origins[key] = o
	}
	if _, ok := origins[fmt.Sprintf("webhook[%d].url", n)]; !ok {
		// A missing url is reported at the table.
		origins[fmt.Sprintf("webhook[%d].url", n)] = origin{src: FromFile, line: line}
	}
	return w, origins, nil
}

// checkMasked refuses a secret the file gave as "***" and no other source
// replaced: check-config masks secrets, and a file made of its output must
// not quietly drop one (a webhook's Authorization header, the DSN). A
// lenient load leaves such a webhook out.
func (c *Config) checkMasked(p *problems) error {
	keys := make([]string, 0, len(c.origins))
	for k, o := range c.origins {
		if o.masked {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return c.origins[keys[i]].line < c.origins[keys[j]].line })
	var drop []int
	for _, k := range keys {
		err := c.errorAt(k, errors.New(`the value is "***", check-config's mask of a secret: write the secret, or give it in its *_file key, the environment or a systemd credential`))
		if err := p.add(err); err != nil {
			return err
		}
		if i, ok := webhookIndex(k); ok {
			drop = append(drop, i)
		}
	}
	c.dropWebhooks(drop)
	return nil
}

// splitKey splits "section.name"; a key of no section has section "".
func splitKey(key string) (section, name string) {
	if sec, name, ok := strings.Cut(key, "."); ok {
		return sec, name
	}
	return "", key
}

func isTable(v any) bool { _, ok := v.(map[string]any); return ok }

// tableBlocks returns the first and last line of each [[name]] table.
func tableBlocks(data []byte, name string) [][2]int {
	var out [][2]int
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		t := strings.TrimSpace(string(l))
		if !strings.HasPrefix(t, "[") {
			continue
		}
		if len(out) > 0 && out[len(out)-1][1] == 0 {
			out[len(out)-1][1] = i // the line before this header, 1-based
		}
		if h, _, _ := strings.Cut(t, "#"); strings.ReplaceAll(strings.TrimSpace(h), " ", "") == "[["+name+"]]" {
			out = append(out, [2]int{i + 1, 0})
		}
	}
	if len(out) > 0 && out[len(out)-1][1] == 0 {
		out[len(out)-1][1] = len(lines)
	}
	return out
}

// keyLineIn returns the line in block that sets key ("url", "headers" or
// "headers.Authorization"), 0 for none.
func keyLineIn(data []byte, block [2]int, key string) int {
	lines := bytes.Split(data, []byte("\n"))
	for n := block[0]; n <= block[1] && n <= len(lines); n++ {
		t := strings.TrimSpace(string(lines[n-1]))
		rest, ok := strings.CutPrefix(t, key)
		if !ok {
			if q := strings.Index(key, "."); q >= 0 {
				// headers."X-Token"
				rest, ok = strings.CutPrefix(t, key[:q+1]+strconv.Quote(key[q+1:]))
			}
		}
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, ".") {
			return n
		}
	}
	return 0
}

// keyCol is the column of the first non-blank byte of line (1-based), 0
// for no line.
func keyCol(data []byte, line int) int {
	if line < 1 {
		return 0
	}
	lines := bytes.Split(data, []byte("\n"))
	if line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " \t")) + 1
}

// WriteTOML writes the effective configuration as a TOML file that Load
// reads back to the same configuration: each value with its source as a
// comment, secrets masked as "***" (which the reader leaves to the
// secret's other sources: a file named by *_file, the environment,
// credentials; an error when there is none), webhooks that came from the environment or credentials as
// comments.
func (c *Config) WriteTOML(w io.Writer) error {
	var b strings.Builder
	if c.Path != "" {
		fmt.Fprintf(&b, "# configuration file: %s\n", c.Path)
	}
	section := ""
	for i := range settings {
		s := &settings[i]
		sec, name := splitKey(s.key)
		if sec != section {
			fmt.Fprintf(&b, "\n[%s]\n", sec)
			section = sec
		}
		if p, ok := s.ptr(c).(**bool); ok && *p == nil {
			fmt.Fprintf(&b, "# %s = true # default: %s\n", name, s.auto)
			continue
		}
		fmt.Fprintf(&b, "%s = %s # %s\n", name, s.literal(c), c.SourceOf(s.key))
	}
	for i, wh := range c.Webhooks {
		prefix := ""
		if src := c.SourceOf(fmt.Sprintf("webhook[%d].url", i)); src == FromEnv || src == FromFlag {
			prefix = "# "
			fmt.Fprintf(&b, "\n# from %s:", c.origins[fmt.Sprintf("webhook[%d].url", i)].name)
		}
		fmt.Fprintf(&b, "\n%s[[webhook]]\n", prefix)
		if wh.Name != "" {
			fmt.Fprintf(&b, "%sname = %s\n", prefix, tomlString(wh.Name))
		}
		if wh.URLFile != "" {
			fmt.Fprintf(&b, "%surl_file = %s\n", prefix, tomlString(wh.URLFile))
		} else {
			fmt.Fprintf(&b, "%surl = %s\n", prefix, tomlString(wh.URL.String()))
		}
		keys := make([]string, 0, len(wh.Headers))
		for k := range wh.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%sheaders.%s = %s\n", prefix, tomlKey(k), tomlString(wh.Headers[k].String()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// literal is the setting's value as a TOML value.
func (s *setting) literal(c *Config) string {
	switch p := s.ptr(c).(type) {
	case *bool, **bool, *int:
		return s.text(c)
	case *[]string:
		q := make([]string, len(*p))
		for i, v := range *p {
			q[i] = tomlString(v)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return tomlString(s.text(c))
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0 {
		return k
	}
	return tomlString(k)
}
