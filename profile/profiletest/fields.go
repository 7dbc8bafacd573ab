// Package profiletest checks, for a model's tests, which profile switches
// the model's code reads, so that a model cannot read a switch it does
// not declare (check reuses one search for every kernel with the same
// settings of the declared switches).
package profiletest

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"raceroute/profile"
)

// SwitchesRead type-checks the non-test Go files of each package
// directory and returns the switches whose Profile fields (or the
// ClonesOnLookup method, which reads ipv6-cache) they read.
func SwitchesRead(t testing.TB, dirs ...string) []string {
	t.Helper()
	byField := map[string]string{"ClonesOnLookup": "ipv6-cache"}
	for _, sw := range profile.Switches() {
		byField[profile.SwitchField(sw)] = sw
	}
	read := map[string]bool{}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil)
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files []*ast.File
		for _, e := range entries {
			n := e.Name()
			if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(dir, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", dir, err)
		}
		for sel, s := range info.Selections {
			recv := s.Recv()
			if p, ok := recv.(*types.Pointer); ok {
				recv = p.Elem()
			}
			named, ok := recv.(*types.Named)
			if !ok || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != "raceroute/profile" || named.Obj().Name() != "Profile" {
				continue
			}
			if sw, ok := byField[sel.Sel.Name]; ok {
				read[sw] = true
			}
		}
	}
	var out []string
	for sw := range read {
		out = append(out, sw)
	}
	sort.Strings(out)
	return out
}
