package scenario

import (
	"embed"
	"fmt"
	"os"
	"strings"

	"raceroute/scenario/format"
)

//go:embed library/*.yaml
var libraryFS embed.FS

// Library parses every embedded scenario, sorted by name.
func Library() ([]*Scenario, error) {
	return format.ReadLibrary(libraryFS, "library", models())
}

// Find returns the scenario an argument names, as FindVariant does,
// without the variant.
func Find(arg string) (*Scenario, error) {
	sc, _, err := FindVariant(arg)
	return sc, err
}

// FindVariant resolves a scenario argument of the command line into the
// scenario and the variant it selects ("" for all of them):
//
//	NAME            a library scenario
//	NAME/VARIANT    a variant of a library scenario
//	FILE            a scenario file (path/to/file.yaml)
//	FILE/VARIANT    a variant of a scenario file (path/to/file.yaml/replace)
//
// A library name wins over a file of the same name, and a file that exists
// wins over reading its last path element as a variant. A variant the
// scenario does not have is an error that lists those it has.
func FindVariant(arg string) (*Scenario, string, error) {
	lib, err := Library()
	if err != nil {
		return nil, "", err
	}
	byName := func(name string) *Scenario {
		for _, sc := range lib {
			if sc.Name == name {
				return sc
			}
		}
		return nil
	}
	withVariant := func(sc *Scenario, variant string) (*Scenario, string, error) {
		if _, err := sc.Variant(variant); err != nil {
			return nil, "", err
		}
		return sc, variant, nil
	}
	if sc := byName(arg); sc != nil {
		return sc, "", nil
	}
	if fileExists(arg) {
		sc, err := Load(arg)
		return sc, "", err
	}
	if name, variant, ok := strings.Cut(arg, "/"); ok {
		if sc := byName(name); sc != nil {
			return withVariant(sc, variant)
		}
	}
	if i := strings.LastIndexByte(arg, '/'); i > 0 && fileExists(arg[:i]) {
		sc, err := Load(arg[:i])
		if err != nil {
			return nil, "", err
		}
		return withVariant(sc, arg[i+1:])
	}
	names := make([]string, len(lib))
	for i, sc := range lib {
		names[i] = sc.Name
	}
	return nil, "", fmt.Errorf("no scenario %q in the library and no such file (library: %s)", arg, strings.Join(names, ", "))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
