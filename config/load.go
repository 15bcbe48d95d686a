package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// DefaultPath is the configuration file read when neither --config nor
// $PRODWRAP_CONFIG names one, if it exists.
const DefaultPath = "/etc/prodwrap/prodwrap.toml"

// Options say where Load reads from.
type Options struct {
	// Args are prodwrap's arguments: flags, then the command.
	Args []string
	// Env is the environment as os.Environ gives it.
	Env []string
	// Name is the flag set's name in usage messages ("prodwrap").
	Name string
	// NoCommand rejects arguments after the flags (sub-commands that take none).
	NoCommand bool
	// Lenient makes Load fail open: on errors in the file, the environment
	// or a secret, it still returns a configuration, each bad value left out
	// (the lower sources' value stands, the default at worst; a file that
	// cannot be read or parsed is left out whole; an invalid sink is left
	// out) and the file sink on, with an Errors listing every problem, one
	// line each, for the caller to log and put in reports. Errors on the
	// command line stay fatal (a nil Config), and so does any error when
	// the configuration that was read says strict (strict = true,
	// PRODWRAP_STRICT=1, --strict). check-config is never lenient.
	Lenient bool
}

// ErrHelp is returned by Load when -h or --help was asked for; the caller
// prints the usage (FlagUsage, EnvUsage).
var ErrHelp = flag.ErrHelp

// Load reads the configuration and returns it with the arguments left
// after prodwrap's flags (the command and its arguments). The error is an
// *Error, or with Options.Lenient an Errors beside a usable Config.
func Load(o Options) (*Config, []string, error) {
	env := envMap(o.Env)
	// Without flags (`prodwrap -- /srv/api`, the usual prefix) parsing stops
	// before any, so the set holds --config alone: defining every
	// setting's flag is about 40 µs of each start.
	fs := configFlagSet(o.Name)
	if beginsWithFlag(o.Args) {
		fs = newFlagSet(o.Name)
	}
	if err := fs.Parse(o.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, ErrHelp
		}
		return nil, nil, flagError(fs, o.Args, err)
	}
	rest := fs.Args()
	if o.NoCommand && len(rest) > 0 {
		return nil, nil, &Error{Source: "command line", Err: fmt.Errorf("unexpected argument %q", rest[0])}
	}

	p := &problems{lenient: o.Lenient}
	c := Default()
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = env["PRODWRAP_CONFIG"]
	}
	if path == "" {
		if _, err := os.Stat(DefaultPath); err == nil {
			path = DefaultPath
		}
	}
	if path != "" {
		if err := c.decodeFile(path, p); err != nil {
			return nil, nil, err
		}
	}
	for i := range settings {
		s := &settings[i]
		if s.env == "" {
			continue
		}
		if v, ok := env[s.env]; ok && v != "" {
			x, err := s.parseText(v)
			if err != nil {
				if err := p.add(&Error{Source: "environment", Key: s.env, Err: err}); err != nil {
					return nil, nil, err
				}
				continue
			}
			s.store(c, x)
			c.setOrigin(s.key, origin{src: FromEnv, name: s.env})
		}
	}
	if u := env["PRODWRAP_WEBHOOK_URL"]; u != "" {
		c.setOrigin(fmt.Sprintf("webhook[%d].url", len(c.Webhooks)), origin{src: FromEnv, name: "PRODWRAP_WEBHOOK_URL"})
		c.Webhooks = append(c.Webhooks, Webhook{Name: "env", URL: Secret(u)})
	}
	var ferr error
	fs.Visit(func(f *flag.Flag) {
		if ferr != nil || f.Name == "config" {
			return
		}
		name := f.Name
		if name == "g" {
			name = "process-group"
		}
		for i := range settings {
			s := &settings[i]
			if s.flag != name {
				continue
			}
			x, err := s.parseText(f.Value.String())
			if err != nil {
				ferr = &Error{Source: "command line", Key: "--" + f.Name, Err: err}
				return
			}
			s.store(c, x)
			c.setOrigin(s.key, origin{src: FromFlag, name: "--" + f.Name})
		}
	})
	if ferr != nil {
		return nil, nil, ferr
	}
	if err := c.resolveSecrets(env, p); err != nil {
		return nil, nil, err
	}
	if err := c.checkMasked(p); err != nil {
		return nil, nil, err
	}
	if err := c.validate(p); err != nil {
		return nil, nil, err
	}
	if len(p.list) > 0 {
		if c.Strict {
			return nil, nil, p.list
		}
		on := true
		c.File.Enabled = &on
		c.setOrigin("file.enabled", origin{src: FromDefault, name: "file.enabled (on: the configuration has errors)"})
		return c, rest, p.list
	}
	return c, rest, nil
}

// flagError turns the flag package's error into an *Error, with a
// suggestion for a flag that does not exist.
func flagError(fs *flag.FlagSet, args []string, err error) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		f := fs.Lookup(name)
		if f == nil {
			var known []string
			fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
			msg := "unknown flag"
			if s := suggest(name, known); s != "" {
				msg += "; did you mean --" + s + "?"
			}
			return &Error{Source: "command line", Key: "--" + name, Err: errors.New(msg + " (see prodwrap --help)")}
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // the flag's value
		}
	}
	return &Error{Source: "command line", Err: err}
}

// flagValue holds a flag's text until the sources are merged.
type flagValue struct {
	v      string
	isBool bool
}

func (f *flagValue) String() string     { return f.v }
func (f *flagValue) Set(s string) error { f.v = s; return nil }
func (f *flagValue) IsBoolFlag() bool   { return f.isBool }

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// LeadingFlags returns how many of args are prodwrap's flags (with their
// values) before the first argument that is not one: the sub-command or
// COMMAND. "--" ends them (and is not counted). The caller uses it to
// accept global flags before a sub-command as well as after it
// (`prodwrap --config F check-config`); what the flags mean is decided by
// Load, which also reports the bad ones.
func LeadingFlags(args []string) int {
	fs := newFlagSet("prodwrap")
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return i
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			return i // not ours: Load will say so
		}
		i++
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || (ok && b.IsBoolFlag()) {
			continue
		}
		i++ // the flag's value is the next argument
	}
	return min(i, len(args))
}
