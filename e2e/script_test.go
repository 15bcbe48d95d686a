package e2e_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/prodwrap/prodwrap/internal/zoo"
)

// TestScripts runs the txtar scenarios of testdata/script, cmd/go-style:
// prodwrap, the crash zoo's crasher and the helper commands are on PATH,
// and every script gets its own spool.
func TestScripts(t *testing.T) {
	bin := prodwrapBin(t)
	crasher := zoo.Build(t, zoo.Plain)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+filepath.Dir(crasher)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("PRODWRAP_SPOOL", filepath.Join(env.WorkDir, "spool"))
			env.Setenv("PRODWRAP_LOG_FORMAT", "json")
			return nil
		},
	})
}
