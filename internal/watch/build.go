package watch

import (
	"debug/buildinfo"
	"fmt"
	"strings"

	"github.com/prodwrap/prodwrap/report"
)

// ReadBuild reads the Go build information embedded in the binary at path.
func ReadBuild(path string) (report.Build, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return report.Build{}, fmt.Errorf("read build info of %s: %w", path, err)
	}
	b := report.Build{GoVersion: bi.GoVersion, MainModule: bi.Main.Path, Version: bi.Main.Version, Package: bi.Path,
		Modules: map[string]string{bi.Main.Path: bi.Main.Version}}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v += " => " + strings.TrimSpace(d.Replace.Path+" "+d.Replace.Version)
		}
		b.Modules[d.Path] = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.VCSRevision = s.Value
		case "vcs.time":
			b.VCSTime = s.Value
		case "vcs.modified":
			b.VCSModified = s.Value == "true"
		}
	}
	return b, nil
}
