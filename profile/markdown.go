package profile

import (
	"fmt"
	"strings"
)

// Markdown renders docs/kernels.md: the switches with the history of
// their values, then every library kernel's setting of every switch with
// its evidence. The document is generated from the profiles themselves;
// a test fails when they disagree.
func Markdown() (string, error) {
	f, err := LoadFacts()
	if err != nil {
		return "", err
	}
	ps, err := all()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# Kernel profiles\n\n")
	b.WriteString("Generated from `profile/facts.yaml` by `raceroute kernels --format markdown`; do not edit by hand\n")
	b.WriteString("(`go test ./profile` fails when this file and the profiles disagree).\n\n")
	b.WriteString("A profile is a kernel identity plus its setting of every behaviour switch the models branch on.\n")
	b.WriteString("An upstream kernel's settings are computed from the facts below: the commit that introduced each\n")
	b.WriteString("value, the first mainline release that has it, and the stable point releases that carry a backport.\n")
	b.WriteString("A distribution kernel's settings were read in its own source. `?` marks a setting that could not be\n")
	b.WriteString("pinned: `check` then explores every candidate and reports the verdict under each.\n\n")
	b.WriteString("## Settings by kernel\n\n")
	b.WriteString("| kernel | release |")
	for _, sw := range f.Switches {
		b.WriteString(" " + sw.Name + " |")
	}
	b.WriteString("\n|---|---|")
	for range f.Switches {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "| %s | `%s` |", p.Name, p.Release)
		for _, s := range p.Settings {
			if s.Known() {
				b.WriteString(" " + s.Value + " |")
			} else {
				b.WriteString(" ? " + strings.Join(s.Unknown, " / ") + " |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## The switches\n")
	for _, sw := range f.Switches {
		fmt.Fprintf(&b, "\n### %s\n\n%s.\n\n", sw.Name, sw.Doc)
		for i, v := range sw.Values {
			if i == 0 {
				fmt.Fprintf(&b, "- **%s** (the original behaviour): %s. Read: %s.\n", v.Value, v.Title, v.Source)
				continue
			}
			id := v.Title
			if v.Commit != "" {
				id = fmt.Sprintf("%s %q", v.Commit, v.Title)
			}
			since := "no mainline release"
			if v.Mainline != "" {
				since = "mainline " + v.Mainline
				if v.Maybe != "" {
					since += " (maybe " + v.Maybe + ", not read)"
				}
			}
			fmt.Fprintf(&b, "- **%s**: %s; %s. Read: %s.\n", v.Value, id, since, v.Source)
			for _, bp := range v.Backports {
				if bp.First > 0 {
					fmt.Fprintf(&b, "  - backported to %s.y from %s.%d: %s\n", bp.Line, bp.Line, bp.First, bp.Source)
				} else {
					fmt.Fprintf(&b, "  - backported to %s.y after %s.%d, by %s.%d: %s\n", bp.Line, bp.Line, bp.Absent, bp.Line, bp.Present, bp.Source)
				}
			}
		}
	}
	b.WriteString("\n## Evidence by kernel\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "\n### %s (`%s`)\n\n%s.\n", p.Name, p.Release, p.Description)
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "\n%s\n", n)
		}
		b.WriteString("\n")
		for i, s := range p.Settings {
			fmt.Fprintf(&b, "- %s: %s. %s\n", f.Switches[i].Name, s, s.Source)
		}
	}
	return b.String(), nil
}
