package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// chdir changes the working directory for the rest of the test.
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chdir(old); err != nil {
			t.Error(err)
		}
	})
}

func TestFindVariant(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sub", "v.yaml")
	if err := os.WriteFile(file, []byte(goodVariants), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "sub", "t.yaml")
	if err := os.WriteFile(plain, []byte(goodFIB6), 0o644); err != nil {
		t.Fatal(err)
	}
	chdir(t, dir)
	for _, tc := range []struct {
		arg, name, variant, source, err string
	}{
		{arg: "babeld-route-modify", name: "babeld-route-modify", source: "library/babeld-route-modify.yaml"},
		{arg: "babeld-route-modify/replace", name: "babeld-route-modify", variant: "replace", source: "library/babeld-route-modify.yaml"},
		{arg: "babeld-route-modify/bogus", err: `scenario babeld-route-modify has no variant "bogus" (variants: delete-add, replace, add-delete, replace-live-clone, delete-add-live-clone)`},
		{arg: "sub/v.yaml", name: "v", source: file},
		{arg: "sub/v.yaml/replace", name: "v", variant: "replace", source: file},
		{arg: file + "/delete-add", name: "v", variant: "delete-add", source: file},
		{arg: "./sub/../sub/v.yaml/replace", name: "v", variant: "replace", source: file},
		{arg: "sub/v.yaml/bogus", err: `scenario v has no variant "bogus" (variants: delete-add, replace)`},
		{arg: "sub/t.yaml/x", err: `scenario t has no variants (asked for "x")`},
		{arg: "sub/none.yaml/replace", err: `no scenario "sub/none.yaml/replace" in the library and no such file`},
		{arg: "nothing", err: `no scenario "nothing" in the library and no such file (library: `},
		{arg: "nothing", err: `, announce-safe, apply-clone-race, apply-metric-change, apply-nexthop-move, apply-retract, babeld-add-before-delete,`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			sc, variant, err := FindVariant(tc.arg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != tc.name || variant != tc.variant || sc.Source != tc.source {
				t.Fatalf("got (%s, %q) from %s, want (%s, %q) from %s", sc.Name, variant, sc.Source, tc.name, tc.variant, tc.source)
			}
			if sc.Embedded() != strings.HasPrefix(tc.source, "library/") {
				t.Fatalf("Embedded() = %v for %s", sc.Embedded(), sc.Source)
			}
			if f, err := Find(tc.arg); err != nil || f.Source != sc.Source {
				t.Fatalf("Find(%q) = %v, %v; FindVariant found %s", tc.arg, f, err, sc.Source)
			}
		})
	}
}

// A file's Source is absolute, so that a token made in one directory
// finds the file from another.
func TestLoadAbsoluteSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(goodFIB6), 0o644); err != nil {
		t.Fatal(err)
	}
	chdir(t, dir)
	sc, err := Load("t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(sc.Source) || filepath.Base(sc.Source) != "t.yaml" {
		t.Fatalf("Source %q is not the absolute path", sc.Source)
	}
	chdir(t, t.TempDir())
	again, err := Find(sc.Source)
	if err != nil || again.ContentHash() != sc.ContentHash() {
		t.Fatalf("from another directory: %v, %v", again, err)
	}
	// errors name the absolute path too
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chdir(t, dir)
	if _, err := Load("bad.yaml"); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "bad.yaml")+":1:1: missing `model:`") {
		t.Fatalf("error %v does not name the absolute path and the line", err)
	}
}

func TestContentHash(t *testing.T) {
	parse := func(data string) *Scenario {
		t.Helper()
		sc, err := Parse("x.yaml", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	a := parse(goodFIB6)
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(a.ContentHash()) {
		t.Fatalf("hash %q: want 12 hex digits", a.ContentHash())
	}
	// the first 12 hex digits of sha256(goodFIB6), from sha256sum: stable
	// across runs, machines and versions of raceroute
	if got, want := a.ContentHash(), "7136f04d76c4"; got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	// a comment changes the bytes, so the hash, not the meaning
	if b := parse(goodFIB6 + "# a comment\n"); b.ContentHash() == a.ContentHash() {
		t.Fatalf("different bytes, same hash %s", a.ContentHash())
	}
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, sc := range lib {
		if other, dup := seen[sc.ContentHash()]; dup {
			t.Fatalf("%s and %s have the same hash", sc.Name, other)
		}
		seen[sc.ContentHash()] = sc.Name
	}
}
