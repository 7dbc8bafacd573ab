package cases

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
)

//go:embed */*.txt
var library embed.FS

var libOnce = sync.OnceValues(func() ([]*File, error) {
	names, err := fs.Glob(library, "*/*.txt")
	if err != nil {
		return nil, err
	}
	var out []*File
	for _, n := range names {
		data, err := library.ReadFile(n)
		if err != nil {
			return nil, err
		}
		f, err := Parse("selftests/cases/"+n, data)
		if err != nil {
			return nil, err
		}
		if want := path.Join(f.Suite, f.Version+".txt"); want != n {
			return nil, fmt.Errorf("selftests/cases/%s: holds %s (want it at %s)", n, f.Suite+" "+f.Version, want)
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Suite != out[j].Suite {
			return suiteOrder(out[i].Suite) < suiteOrder(out[j].Suite)
		}
		return out[i].Covers[0].From.Less(out[j].Covers[0].From)
	})
	return out, nil
})

// suiteOrder puts fib_tests first, the neighbour suites after it.
func suiteOrder(s string) string {
	if s == "fib_tests" {
		return ""
	}
	return s
}

// Library returns the committed case files, by suite, oldest script
// version first. The files are parsed once; callers must not change them.
func Library() ([]*File, error) { return libOnce() }

// Suites names the suites of the library, in its order.
func Suites() ([]string, error) {
	files, err := Library()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if len(out) == 0 || out[len(out)-1] != f.Suite {
			out = append(out, f.Suite)
		}
	}
	return out, nil
}
