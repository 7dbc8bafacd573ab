package extract

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"raceroute/selftests/cases"
)

// Source is one entry of selftests/cases/sources.yaml: a script version
// and what it stands for.
type Source struct {
	Suite   string            `yaml:"suite"`
	Version string            `yaml:"version"`
	File    string            `yaml:"file"`
	Source  string            `yaml:"source"`
	Exact   bool              `yaml:"exact"`
	Covers  []string          `yaml:"covers"`
	Notes   []string          `yaml:"notes"`
	Globals map[string]string `yaml:"globals"`
	// Helpers names another version of the script and the functions an
	// excerpt lacks that are taken from it.
	Helpers *struct {
		File  string   `yaml:"file"`
		Funcs []string `yaml:"funcs"`
	} `yaml:"helpers"`
}

// ReadSources reads the manifest at path.
func ReadSources(path string) ([]Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sources: %w", err)
	}
	var out []Source
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, s := range out {
		if Suites[s.Suite] == nil {
			return nil, fmt.Errorf("%s: entry %d: unknown suite %q", path, i+1, s.Suite)
		}
		if s.Version == "" || s.File == "" || s.Source == "" || len(s.Covers) == 0 {
			return nil, fmt.Errorf("%s: entry %d (%s): want version, file, source and covers", path, i+1, s.Suite)
		}
		key := s.Suite + "/" + s.Version
		if seen[key] {
			return nil, fmt.Errorf("%s: %s given twice", path, key)
		}
		seen[key] = true
	}
	return out, nil
}

// Extract reads the entry's script from dir and returns its cases.
func (s Source) Extract(dir string) (*cases.File, error) {
	meta := Meta{Version: s.Version, Source: s.Source, Exact: s.Exact, Notes: s.Notes, Globals: s.Globals}
	for _, c := range s.Covers {
		r, err := cases.ParseRange(c)
		if err != nil {
			return nil, fmt.Errorf("%s %s: covers: %w", s.Suite, s.Version, err)
		}
		meta.Covers = append(meta.Covers, r)
	}
	text, err := os.ReadFile(filepath.Join(dir, s.File))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", s.Suite, s.Version, err)
	}
	if h := s.Helpers; h != nil {
		if meta.Helpers, err = os.ReadFile(filepath.Join(dir, h.File)); err != nil {
			return nil, fmt.Errorf("%s %s: helpers: %w", s.Suite, s.Version, err)
		}
		meta.HelpersName, meta.HelperFuncs = filepath.Base(h.File), h.Funcs
	}
	return Extract(Suites[s.Suite], filepath.Base(s.File), text, meta)
}
