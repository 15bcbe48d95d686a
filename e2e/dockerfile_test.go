package e2e_test

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prodwrap/prodwrap/internal/reporttest"
)

// No Docker engine runs on the build machines (docs/docker.md). The test
// below plays docs/examples/Dockerfile as written, instruction by
// instruction, for a service that is not part of this repository: a small
// module of its own, in a directory of its own, as the build context.
//
//   - Each stage is a directory standing for its filesystem; the
//     instructions' absolute paths are put under it.
//   - RUN runs its command with /bin/sh -c, its ARGs in the environment,
//     as docker does, in the stage's WORKDIR. Go comes from the host, as
//     from the golang image; modules come from a module proxy of files:
//     prodwrap's own (this repository's files, as a published version)
//     and the module cache's downloads for the rest. Nothing is fetched.
//   - COPY copies from the build context, without what .dockerignore
//     leaves out, or --from a stage; --chown is applied (as root).
//   - ENV, USER, VOLUME, ENTRYPOINT and CMD of the last stage are run:
//     ENTRYPOINT + CMD with the image's environment, as user 65532 when
//     the test runs as root; the crash's report must be in the volume.

// instr is an instruction of a Dockerfile.
type instr struct {
	line int
	cmd  string // upper case
	args string
}

// readDockerfile returns the instructions of the Dockerfile at path:
// comments left out, continued lines joined.
func readDockerfile(t *testing.T, path string) []instr {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instr
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instr{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// dockerignore is the patterns of a .dockerignore.
type dockerignore []string

func readDockerignore(t *testing.T, file string) dockerignore {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerignore
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf("%s: exceptions (%s) are not played by this test", file, l)
			}
			d = append(d, strings.TrimSuffix(l, "/"))
		}
	}
	return d
}

// ignores says whether rel (a slash path in the context) is left out:
// a pattern matches the path or a directory above it; a leading **/
// matches at any depth.
func (d dockerignore) ignores(rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range d {
		any := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		n := strings.Count(p, "/") + 1
		for i := 0; i+n <= len(parts); i++ {
			if i > 0 && !any {
				break
			}
			if ok, _ := path.Match(p, strings.Join(parts[i:i+n], "/")); ok {
				return true
			}
		}
	}
	return false
}

// stage is a stage of the Dockerfile being played.
type stage struct {
	name, root, workdir string
	args                map[string]string
}

// at is the absolute path p of the stage's filesystem.
func (s *stage) at(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.workdir, p)
	}
	return filepath.Join(s.root, p)
}

// copyTree copies src (a file or a directory) to dst, skipping what skip
// says; files keep their mode.
func copyTree(src, dst string, skip func(rel string) bool) error {
	// The directories above dst, as an image has them (/var/lib, /app).
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && skip != nil && skip(filepath.ToSlash(rel)) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			if err := os.Mkdir(to, fi.Mode().Perm()|0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(to), 0o755)
		return os.WriteFile(to, b, fi.Mode().Perm())
	})
}

// chownTree gives dir and all below it to uid:gid.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// prodwrapProxyVersion is the version of prodwrap the test's module proxy
// holds: its only one, so also "latest".
const prodwrapProxyVersion = "v0.0.0-e2e"

// moduleProxy writes a GOPROXY directory holding this repository, as it
// is on disk (tracked files and new ones not ignored), as
// github.com/prodwrap/prodwrap@prodwrapProxyVersion.
func moduleProxy(t *testing.T) string {
	t.Helper()
	repo := repoRoot(t)
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = repo
	names, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	at := filepath.Join(dir, "github.com", "prodwrap", "prodwrap", "@v")
	os.MkdirAll(at, 0o755)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	prefix := "github.com/prodwrap/prodwrap@" + prodwrapProxyVersion + "/"
	files := strings.Split(strings.TrimRight(string(names), "\x00"), "\x00")
	// A directory with a go.mod of its own is another module, not in this
	// one's zip (the go command refuses the zip otherwise).
	var nested []string
	for _, name := range files {
		if path.Base(name) == "go.mod" && name != "go.mod" {
			nested = append(nested, path.Dir(name)+"/")
		}
	}
	for _, name := range files {
		if slices.ContainsFunc(nested, func(d string) bool { return strings.HasPrefix(name, d) }) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(repo, name))
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted, or not a file a module zip may hold
		}
		b, err := os.ReadFile(filepath.Join(repo, name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(prefix + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]any{"Version": prodwrapProxyVersion, "Time": time.Now().UTC()})
	for name, b := range map[string][]byte{
		"list":                         []byte(prodwrapProxyVersion + "\n"),
		prodwrapProxyVersion + ".info": info,
		prodwrapProxyVersion + ".mod":  gomod,
		prodwrapProxyVersion + ".zip":  zb.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// yourService writes the build context of a service that is not
// prodwrap's: module example.com/api, no dependencies (so no go.sum), a
// handler that writes to a nil map; and beside it what .dockerignore must
// keep out of the image.
func yourService(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/api\n\ngo 1.26\n",
		"main.go": `// Command api is a service whose handler writes to a nil map.
package main

import (
	"fmt"
	"os"
)

var sessions map[string]int // never made: the bug

func handle(user string) { sessions[user]++ }

func main() {
	fmt.Fprintln(os.Stderr, "api: listening", os.Args[1:])
	handle("ada")
}
`,
		".env":              "SENTRY_DSN=https://leaked@sentry.example.com/1\n",
		"deploy/sentry-dsn": "https://leaked@sentry.example.com/1\n",
		"certs/tls.key":     "not a key\n",
		"bin/api":           "an old build\n",
		".git/HEAD":         "ref: refs/heads/main\n",
	}
	for name, text := range files {
		p := filepath.Join(ctx, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ctx, name), b, 0o644)
	}
	return ctx
}

// jsonArgs reads an exec-form ENTRYPOINT or CMD.
func jsonArgs(t *testing.T, in instr) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("Dockerfile:%d: %s %s: want the exec form, a JSON array (prodwrap must be PID 1, not a shell): %v", in.line, in.cmd, in.args, err)
	}
	return v
}

// isStatic says whether the ELF file at p asks for no dynamic loader,
// as a distroless static image needs.
func isStatic(t *testing.T, p string) bool {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

var (
	argRef  = regexp.MustCompile(`\$\{(\w+)\}`)
	outPath = regexp.MustCompile(`(^|[\s=])/out\b`)
)

func TestDockerfileBuildsYourService(t *testing.T) {
	ctx := yourService(t)
	ignore := readDockerignore(t, filepath.Join(ctx, ".dockerignore"))
	proxy := moduleProxy(t)
	modcache, err := exec.Command(goTool(), "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	goEnv := cleanEnv(
		"PATH="+filepath.Dir(goTool())+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"),
		"GOSUMDB=off", "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw",
		// A module cache of the build's own, as in a fresh golang image.
		"GOMODCACHE="+t.TempDir(), "GOPATH="+t.TempDir(),
	)

	// docker build --build-arg RELEASE=..., as the Dockerfile's comment says.
	buildArgs := map[string]string{"RELEASE": "abc1234"}
	globalArgs := map[string]string{}
	stages := map[string]*stage{}
	var cur *stage
	var last []instr // the last stage's instructions after FROM
	for _, in := range readDockerfile(t, filepath.Join(ctx, "Dockerfile")) {
		where := fmt.Sprintf("Dockerfile:%d: %s %s", in.line, in.cmd, in.args)
		switch in.cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			if b, ok := buildArgs[k]; ok {
				v = b
			}
			if cur == nil {
				globalArgs[k] = v
			} else if _, ok := cur.args[k]; !ok {
				cur.args[k] = globalArgs[k] // docker: a global ARG's value, declared in the stage
			}
			if cur != nil && v != "" {
				cur.args[k] = v
			}
		case "FROM":
			f := strings.Fields(argRef.ReplaceAllStringFunc(in.args, func(s string) string { return globalArgs[s[2:len(s)-1]] }))
			cur = &stage{root: t.TempDir(), workdir: "/", args: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				cur.name = f[2]
				stages[cur.name] = cur
			}
			last = nil
		case "WORKDIR":
			cur.workdir = in.args
			os.MkdirAll(cur.at("."), 0o755)
		case "RUN":
			// The build's paths are under /out; put them in the stage.
			cmdline := outPath.ReplaceAllString(in.args, "${1}"+cur.root+"/out")
			cmd := command(t, "/bin/sh", "-c", cmdline)
			cmd.Dir = cur.at(".")
			cmd.Env = goEnv
			for k, v := range cur.args {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", where, err, b)
			}
		case "COPY":
			f := strings.Fields(in.args)
			from, chown := "", ""
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				k, v, _ := strings.Cut(f[0], "=")
				switch k {
				case "--from":
					from = v
				case "--chown":
					chown = v
				default:
					t.Fatalf("%s: %s is not played by this test", where, k)
				}
				f = f[1:]
			}
			if len(f) < 2 {
				t.Fatalf("%s: want SRC... DST", where)
			}
			dst := cur.at(f[len(f)-1])
			for _, src := range f[:len(f)-1] {
				var matches []string
				if from != "" {
					s, ok := stages[from]
					if !ok {
						t.Fatalf("%s: no stage %s", where, from)
					}
					matches = []string{s.at(src)}
				} else {
					// From the context: a pattern may match nothing.
					matches, _ = filepath.Glob(filepath.Join(ctx, src))
				}
				for _, m := range matches {
					to := dst
					if fi, err := os.Stat(m); err == nil && !fi.IsDir() && strings.HasSuffix(f[len(f)-1], "/") {
						to = filepath.Join(dst, filepath.Base(m))
					}
					skip := func(rel string) bool {
						if from != "" {
							return false
						}
						r, _ := filepath.Rel(ctx, filepath.Join(m, rel))
						return ignore.ignores(filepath.ToSlash(r))
					}
					if err := copyTree(m, to, skip); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if chown != "" && os.Geteuid() == 0 {
						var uid, gid int
						if _, err := fmt.Sscanf(chown, "%d:%d", &uid, &gid); err != nil {
							t.Fatalf("%s: --chown wants numeric uid:gid (distroless has no useradd): %v", where, err)
						}
						if err := chownTree(to, uid, gid); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		default:
			last = append(last, in)
		}
	}
	build := stages["build"]
	if build == nil || stages["prodwrap"] == nil {
		t.Fatal("the Dockerfile has no stage named build or prodwrap")
	}
	// What .dockerignore keeps out did not reach the build.
	for _, name := range []string{".env", "deploy/sentry-dsn", "certs/tls.key", "bin/api", ".git"} {
		if _, err := os.Lstat(build.at(name)); err == nil {
			t.Errorf("%s of the context reached the build stage", name)
		}
	}

	// The image: the last stage's files, environment, user and command.
	img := cur
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/nonroot"}
	var entrypoint, cmdArgs []string
	user, volume := "", ""
	for _, in := range last {
		switch in.cmd {
		case "ENV":
			k, v, _ := strings.Cut(in.args, "=")
			v = argRef.ReplaceAllStringFunc(v, func(s string) string { return img.args[s[2:len(s)-1]] })
			if strings.HasPrefix(v, "/") {
				v = img.at(v)
			}
			env = append(env, k+"="+v)
		case "USER":
			user = in.args
		case "VOLUME":
			volume = in.args
		case "ENTRYPOINT":
			entrypoint = jsonArgs(t, in)
		case "CMD":
			cmdArgs = jsonArgs(t, in)
		default:
			t.Fatalf("Dockerfile:%d: %s is not played by this test", in.line, in.cmd)
		}
	}
	spool := img.at(volume)
	if volume == "" || !slices.Contains(env, "PRODWRAP_SPOOL="+spool) {
		t.Fatalf("the image's VOLUME %q is not its PRODWRAP_SPOOL (%q)", volume, env)
	}
	if user != "65532:65532" && user != "nonroot" && user != "nonroot:nonroot" {
		t.Errorf("USER %q: want distroless's nonroot, 65532", user)
	}
	argv := append(entrypoint, cmdArgs...)
	for i, a := range argv {
		if strings.HasPrefix(a, "/") {
			argv[i] = img.at(a)
		}
	}
	for _, bin := range []string{argv[0], img.at(cmdArgs[0])} {
		if !isStatic(t, bin) {
			t.Errorf("%s is dynamically linked: distroless static has no C library", bin)
		}
	}

	run := command(t, argv[0], argv[1:]...)
	run.Env = append(env, "PRODWRAP_LOG_LEVEL=debug")
	if os.Geteuid() == 0 {
		// The image's user, who must be able to reach the files: the test's
		// temporary directories are root's, mode 0700.
		for d := img.root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		run.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		if fi, err := os.Stat(spool); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65532 || fi.Mode().Perm() != 0o700 {
			t.Errorf("the spool %s: %v %v; want a directory of 65532's, mode 0700", spool, err, fi.Mode())
		}
	} else {
		t.Log("not root: the image runs as the test's user, the spool's owner is not checked")
	}
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if code := exitCode(t, run.Run()); code != 2 {
		t.Fatalf("%q: exit %d, want the crash's 2\n%s", argv, code, stderr.String())
	}
	reports := reporttest.Reports(t, filepath.Join(spool, "reports"))
	if len(reports) != 1 {
		t.Fatalf("%d reports in the volume's reports/, want 1\n%s", len(reports), stderr.String())
	}
	r := reports[0]
	if r.Release != "abc1234" {
		t.Errorf("release %q, want the build argument's abc1234", r.Release)
	}
	if r.Build.MainModule != "example.com/api" || r.Crash == nil || r.Crash.Kind != "panic" ||
		r.Crash.Culprit == nil || r.Crash.Culprit.Function != "main.handle" {
		b, _ := json.MarshalIndent(r, "", "  ")
		t.Errorf("the report is not the service's nil map crash in main.handle:\n%s", b)
	}
}
