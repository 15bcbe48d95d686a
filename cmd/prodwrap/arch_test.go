package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// signalOwner is the one file of the product code that registers,
// ignores or unregisters signals (docs/architecture.md, "Signals").
const signalOwner = "internal/signals/signals.go"

// TestOneSignalOwner: no package of the product calls os/signal's
// Notify, NotifyContext, Ignore, Reset or Stop but the signal owner.
// Tests, the tests' helper programs and the benchmark floors may.
func TestOneSignalOwner(t *testing.T) {
	out, err := exec.Command(zoo.GoTool(), "list", "-f", `{{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, "github.com/prodwrap/prodwrap/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := filepath.Abs("../..")
	var callers []string
	files := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		dir, names := f[0], f[1:]
		rel, _ := filepath.Rel(root, dir)
		if strings.HasPrefix(rel, "internal/test") || strings.HasPrefix(rel, "internal/zoo") || strings.HasPrefix(rel, "bench") || strings.HasPrefix(rel, "examples") {
			continue
		}
		for _, name := range names {
			files++
			path := filepath.Join(dir, name)
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			local := ""
			for _, imp := range file.Imports {
				if imp.Path.Value == `"os/signal"` {
					local = "signal"
					if imp.Name != nil {
						local = imp.Name.Name
					}
				}
			}
			if local == "" {
				continue
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == local {
					switch sel.Sel.Name {
					case "Notify", "NotifyContext", "Ignore", "Reset", "Stop":
						if r := filepath.Join(rel, name); r != signalOwner {
							callers = append(callers, fset.Position(sel.Pos()).String()+": signal."+sel.Sel.Name)
						}
					}
				}
				return true
			})
		}
	}
	if files < 20 {
		t.Fatalf("only %d product files seen; the check would prove nothing", files)
	}
	for _, c := range callers {
		t.Errorf("%s: only %s registers signals", c, signalOwner)
	}
}

// TestParseHasNoReport: parse is bytes → Crash; the report model is
// package report's.
func TestParseHasNoReport(t *testing.T) {
	out, err := exec.Command(zoo.GoTool(), "doc", "-short", "../../parse").Output()
	if err != nil {
		t.Fatalf("go doc: %v", err)
	}
	if !strings.Contains(string(out), "type Crash struct") {
		t.Fatalf("go doc ./parse does not list Crash; the check would prove nothing:\n%s", out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "type Report") || strings.HasPrefix(l, "const Schema") {
			t.Errorf("parse exports %q", l)
		}
	}
}

// TestZooLinksNoNet: the crash zoo must not link package net — with cgo,
// net's extra M keeps the runtime from seeing a deadlock, and the zoo's
// deadlock modes would hang instead of crashing (it happened twice: a
// helper package that linked uuid, a mode that dialled a socket).
func TestZooLinksNoNet(t *testing.T) {
	out, err := exec.Command(zoo.GoTool(), "list", "-deps", "../../internal/zoo/crasher").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "os/signal") {
		t.Fatalf("go list -deps does not list os/signal; the check would prove nothing:\n%s", out)
	}
	if slices.Contains(deps, "net") {
		t.Errorf("the crash zoo links net")
	}
}
