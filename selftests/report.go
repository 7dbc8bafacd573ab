package selftests

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"raceroute/profile"
	"raceroute/selftests/cases"
)

// Version is one script version's runs, on every profile that ships it.
type Version struct {
	File *cases.File
	// Runs are per profile (per candidate setting of an unknown switch).
	Runs []Run
}

// Suite is one suite's versions, oldest first.
type Suite struct {
	Name     string
	Versions []Version
	// Without are the profiles no version covers.
	Without []profile.Profile
}

// RunSuites runs every file of the named suites (all when names is
// empty) on the profiles of ps that ship it.
func RunSuites(files []*cases.File, names []string, ps []profile.Profile) ([]Suite, error) {
	var out []Suite
	for _, f := range files {
		if len(names) > 0 && !slices.Contains(names, f.Suite) {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Name != f.Suite {
			out = append(out, Suite{Name: f.Suite})
		}
		s := &out[len(out)-1]
		v := Version{File: f}
		for _, p := range Covered(f, ps) {
			runs, err := RunModel(f, p)
			if err != nil {
				return nil, err
			}
			v.Runs = append(v.Runs, runs...)
		}
		s.Versions = append(s.Versions, v)
	}
	for i := range out {
		for _, p := range ps {
			if _, ok := FileFor(files, out[i].Name, p); !ok {
				out[i].Without = append(out[i].Without, p)
			}
		}
	}
	return out, nil
}

// Disagreements counts the disagreeing cases of all runs.
func Disagreements(suites []Suite) int {
	n := 0
	for _, s := range suites {
		for _, v := range s.Versions {
			for _, r := range v.Runs {
				n += r.Tally().Disagree
			}
		}
	}
	return n
}

// WriteReport prints suites per version and profile: cases, agreeing,
// disagreeing, not expressible (and what for), vacuous; each
// disagreement in full; every case's verdict when all is set.
func WriteReport(w io.Writer, suites []Suite, all bool) error {
	for _, s := range suites {
		if len(s.Versions) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%s)\n", s.Name, s.Versions[0].File.Script)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  version\tcovers\tkernel\tcases\tagree\tdisagree\tnot expressible\tvacuous\t")
		for _, v := range s.Versions {
			covers := coversText(v.File)
			if len(v.Runs) == 0 {
				fmt.Fprintf(tw, "  %s\t%s\t(no profile)\t%d\t\t\t\t\t\n", v.File.Version, covers, len(v.File.Cases))
				continue
			}
			for i, r := range v.Runs {
				t := r.Tally()
				ver, cov := v.File.Version, covers
				if i > 0 {
					ver, cov = "", ""
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", ver, cov, r.Profile.ID(), t.Cases, t.Agree, t.Disagree, t.NotExpressible, t.Vacuous)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		writeMissing(w, s.Versions)
		for _, v := range s.Versions {
			if err := writeDetails(w, v, all); err != nil {
				return err
			}
		}
		if len(s.Without) > 0 {
			var names []string
			for _, p := range s.Without {
				names = append(names, p.Name)
			}
			fmt.Fprintf(w, "  no version of %s read here covers: %s\n", s.Name, strings.Join(names, ", "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// writeMissing prints what the not-expressible cases lack, for the
// versions (and profiles) that share it.
func writeMissing(w io.Writer, vs []Version) {
	type group struct {
		who  []string
		miss map[string]int
		text string
	}
	var groups []*group
	for _, v := range vs {
		for _, r := range v.Runs {
			t := r.Tally()
			if t.NotExpressible == 0 {
				continue
			}
			text := t.MissingText()
			var g *group
			for _, x := range groups {
				if x.text == text {
					g = x
				}
			}
			if g == nil {
				g = &group{miss: t.Missing, text: text}
				groups = append(groups, g)
			}
			who := v.File.Version
			if len(g.who) == 0 || !strings.HasPrefix(g.who[len(g.who)-1], who) {
				g.who = append(g.who, who)
			}
		}
	}
	for _, g := range groups {
		fmt.Fprintf(w, "  not expressible in %s, by what the model lacks:\n", strings.Join(g.who, ", "))
		for _, item := range strings.Split(g.text, "; ") {
			fmt.Fprintf(w, "      %s\n", item)
		}
	}
}

// writeDetails prints a version's vacuous cases (once, by reason), its
// disagreements and, with all, every case.
func writeDetails(w io.Writer, v Version, all bool) error {
	if len(v.Runs) == 0 {
		return nil
	}
	var reasons []string
	vac := map[string][]string{}
	for _, res := range v.Runs[0].Results {
		if res.Verdict == Vacuous {
			if vac[res.Case.Vacuous] == nil {
				reasons = append(reasons, res.Case.Vacuous)
			}
			vac[res.Case.Vacuous] = append(vac[res.Case.Vacuous], fmt.Sprintf("%s %q", res.Case.ID(), res.Case.Desc))
		}
	}
	for _, r := range reasons {
		fmt.Fprintf(w, "  vacuous in %s (%d): %s: %s\n", v.File.Version, len(vac[r]), r, strings.Join(vac[r], ", "))
	}
	for _, r := range v.Runs {
		for _, res := range r.Results {
			if res.Verdict == Disagree {
				fmt.Fprintf(w, "  %s on %s: %s %q DISAGREES: %s\n", v.File.Version, r.Profile.ID(), res.Case.ID(), res.Case.Desc, res.Why)
			}
		}
		if all {
			fmt.Fprintf(w, "  %s on %s, case by case:\n", v.File.Version, r.Profile.ID())
			for _, res := range r.Results {
				fmt.Fprintf(w, "    %s\n", CaseLine(res))
			}
		}
	}
	return nil
}

// CaseLine is one case's verdict in a line.
func CaseLine(res Result) string {
	s := fmt.Sprintf("%-34s %-62q %s", res.Case.ID(), res.Case.Desc, res.Verdict)
	switch res.Verdict {
	case NotExpressible:
		s += ": needs " + strings.Join(res.Missing, " + ")
	case Disagree:
		s += ": " + res.Why
	}
	return s
}

func coversText(f *cases.File) string {
	var rs []string
	for _, r := range f.Covers {
		rs = append(rs, r.String())
	}
	return strings.Join(rs, " ")
}
