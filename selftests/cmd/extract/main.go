// Command extract writes the case files of selftests/cases from the
// kernel selftest scripts listed in selftests/cases/sources.yaml:
//
//	go run ./selftests/cmd/extract -scripts /work/notes/selftests/raw
//	go run ./selftests/cmd/extract -scripts DIR -check   # compare, write nothing
//
// A new script version is a new entry in sources.yaml and one run: the
// diff of the case file is the diff of what the script asserts.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"raceroute/selftests/extract"
)

func main() {
	scripts := flag.String("scripts", "", "directory holding the scripts named in sources.yaml")
	dir := flag.String("cases", "selftests/cases", "the case directory (holds sources.yaml)")
	check := flag.Bool("check", false, "compare the case files with a fresh extraction; write nothing")
	flag.Parse()
	if *scripts == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: extract -scripts DIR [-cases DIR] [-check]")
		os.Exit(2)
	}
	if err := run(*scripts, *dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}

func run(scripts, dir string, check bool) error {
	srcs, err := extract.ReadSources(filepath.Join(dir, "sources.yaml"))
	if err != nil {
		return err
	}
	stale := 0
	for _, s := range srcs {
		out, err := s.Extract(scripts)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, s.Suite, s.Version+".txt")
		data := out.Format()
		if check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, data) {
				fmt.Printf("%s: differs from a fresh extraction\n", path)
				stale++
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d cases\n", path, len(out.Cases))
	}
	if stale > 0 {
		return fmt.Errorf("%d case files are stale: run without -check", stale)
	}
	return nil
}
