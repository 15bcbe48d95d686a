package parse

import (
	"strings"
)

// packageOf returns the import path of a frame's function, as the runtime
// names it: everything up to the last slash, then up to the first dot. The
// runtime escapes dots in the last path element ("gopkg.in/yaml%2ev2"),
// which is undone.
//
//	Signature: github.com/a/b.(*T).M      → github.com/a/b
//	Signature: gopkg.in/yaml%2ev2.Unmarshal → gopkg.in/yaml.v2
//	Signature: panic                      → "" (the runtime's panic frame)
func packageOf(fn []byte) string {
	s := string(fn)
	slash := strings.LastIndexByte(s, '/')
	dot := strings.IndexByte(s[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	pkg := s[:slash+1+dot]
	if strings.Contains(pkg, "%") {
		pkg = strings.ReplaceAll(pkg, "%2e", ".")
	}
	return pkg
}

// IsRuntimeFrame reports whether a frame is the runtime's own machinery,
// which top_frame, origin and culprit skip:
//
//   - the panic(...) frame and the packages runtime and internal/runtime/...
//     (gopanic, panicmem, sigpanic, throw, fatal, map and channel internals);
//   - the runtime's throw and fatal under the names other packages give
//     them with go:linkname: sync.throw (Go 1.9+), sync.fatal (Go 1.23),
//     internal/sync.throw and internal/sync.fatal (Go 1.24+; their bodies
//     are runtime/panic.go sync_throw, sync_fatal, internal_sync_fatal);
//   - any other standard-library function whose body the runtime provides:
//     its file is GOROOT's src/runtime/*.go (runtime/linkname'd functions,
//     printed with the runtime's file: "runtime/panic.go" with -trimpath);
//   - gccgo's runtime: files under libgo's runtime (libgo/go/runtime/*.go,
//     gcc 7+; libgo/runtime/*.c before), and its C entry points printed
//     without a package, __go_* (__go_panic, __go_runtime_error),
//     runtime_* (runtime_sighandler), __morestack.
func IsRuntimeFrame(f Frame) bool {
	switch {
	case f.Function == "panic", f.Package == "runtime", strings.HasPrefix(f.Package, "internal/runtime/"):
		return true
	case f.Package == "sync" || f.Package == "internal/sync":
		if name, ok := strings.CutPrefix(f.Function, f.Package+"."); ok && (name == "throw" || name == "fatal") {
			return true
		}
	case f.Package == "":
		if strings.HasPrefix(f.Function, "__go_") || strings.HasPrefix(f.Function, "runtime_") || strings.HasPrefix(f.Function, "__morestack") {
			return true
		}
	}
	if strings.Contains(f.File, "libgo/go/runtime/") || strings.Contains(f.File, "libgo/runtime/") {
		return true
	}
	return isRuntimeFile(f.File) && f.Package != "main" && f.Package != "" && !strings.Contains(firstElem(f.Package), ".")
}

// isRuntimeFile reports whether file is a file of GOROOT's src/runtime
// itself (not of runtime/debug, runtime/pprof, ...): /usr/local/go/src/runtime/panic.go,
// or runtime/panic.go as -trimpath prints it.
func isRuntimeFile(file string) bool {
	rest := ""
	if i := strings.LastIndex(file, "/src/runtime/"); i >= 0 {
		rest = file[i+len("/src/runtime/"):]
	} else if r, ok := strings.CutPrefix(file, "runtime/"); ok {
		rest = r
	} else {
		return false
	}
	return rest != "" && !strings.ContainsRune(rest, '/')
}

func firstElem(pkg string) string {
	first, _, _ := strings.Cut(pkg, "/")
	return first
}

// isCgoGenerated reports whether a frame is code cmd/cgo generated: the
// main._Cfunc_* wrappers (and _Cgo_*, _cgo_*) in _cgo_gotypes.go
// (cmd/cgo/out.go writes them there). The Go function that called C is
// the program's line, not the wrapper.
func isCgoGenerated(f Frame) bool {
	return strings.HasSuffix(f.File, "_cgo_gotypes.go") || strings.Contains(f.Function, "._Cfunc_") ||
		strings.Contains(f.Function, "._Cgo_") || strings.Contains(f.Function, "._cgo_")
}

func isPanicFrame(f Frame) bool {
	return f.Function == "panic" || f.Function == "runtime.gopanic"
}

// locate finds top_frame, origin and culprit in a crashing goroutine's
// frames, innermost first (docs/architecture.md,
// "Report model").
func locate(frames []Frame) (top, origin, culprit *FrameRef) {
	topIdx := -1
	for i, f := range frames {
		if !IsRuntimeFrame(f) {
			topIdx = i
			break
		}
	}
	if topIdx < 0 {
		return nil, nil, nil
	}
	originIdx := topIdx
	outer := -1
	for i, f := range frames {
		if isPanicFrame(f) {
			outer = i
		}
	}
	if outer >= 0 {
		for i := outer + 1; i < len(frames); i++ {
			if !IsRuntimeFrame(frames[i]) {
				originIdx = i
				break
			}
		}
	}
	culpritIdx := originIdx
	for i := originIdx; i < len(frames); i++ {
		if frames[i].InApp {
			culpritIdx = i
			break
		}
	}
	return ref(frames[topIdx]), ref(frames[originIdx]), ref(frames[culpritIdx])
}

func ref(f Frame) *FrameRef { return &FrameRef{Function: f.Function, File: f.File, Line: f.Line} }

// inAppFunc returns the in_app rule for a dump: with the main module known,
// a frame is the program's own when its package is main or lies in the
// module; without it, file paths decide: GOROOT (learnt from the dump's
// runtime frames), the module cache (/pkg/mod/, @vX.Y.Z) and vendor/ are
// not the program's, nor is a standard library package (no dot in its first
// path element) when GOROOT is unknown.
func inAppFunc(mainModule, goroot string) func(Frame) bool {
	return func(f Frame) bool {
		if IsRuntimeFrame(f) || f.Function == "" || isCgoGenerated(f) {
			return false
		}
		if mainModule != "" {
			return f.Package == "main" || f.Package == mainModule || strings.HasPrefix(f.Package, mainModule+"/")
		}
		file := strings.ReplaceAll(f.File, `\`, "/")
		switch {
		case strings.Contains(file, "/pkg/mod/"), strings.Contains(file, "/vendor/"), strings.HasPrefix(file, "vendor/"):
			return false
		case strings.Contains(file, "@v"):
			return false
		case goroot != "" && strings.HasPrefix(file, goroot):
			return false
		case f.File == "<autogenerated>":
			return false
		}
		if f.Package == "main" || strings.HasPrefix(f.Package, "main.") {
			return true
		}
		first, _, _ := strings.Cut(f.Package, "/")
		if goroot == "" && !strings.Contains(first, ".") {
			return false // the standard library
		}
		return true
	}
}
