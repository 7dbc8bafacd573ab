package scenario

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed library/*.yaml
var libraryFS embed.FS

// Library parses every embedded scenario, sorted by name.
func Library() ([]*Scenario, error) {
	entries, err := fs.ReadDir(libraryFS, "library")
	if err != nil {
		return nil, fmt.Errorf("read embedded library: %w", err)
	}
	var out []*Scenario
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := libraryFS.ReadFile(path.Join("library", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", e.Name(), err)
		}
		sc, err := Parse("library/"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Find returns the library scenario called name, or loads name as a file
// when it is not in the library and a file by that name exists.
func Find(name string) (*Scenario, error) {
	lib, err := Library()
	if err != nil {
		return nil, err
	}
	base := name
	if i := strings.IndexByte(name, '/'); i > 0 && !fileExists(name) {
		base = name[:i]
	}
	for _, sc := range lib {
		if sc.Name == base {
			return sc, nil
		}
	}
	if fileExists(name) {
		return Load(name)
	}
	names := make([]string, len(lib))
	for i, sc := range lib {
		names[i] = sc.Name
	}
	return nil, fmt.Errorf("no scenario %q in the library and no such file (library: %s)", name, strings.Join(names, ", "))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
