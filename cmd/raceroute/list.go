package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
)

func newScenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the embedded scenario library",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := scenario.Library()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCENARIO\tMODEL\tEXPECTED VIOLATED WHERE\tDESCRIPTION")
			for _, sc := range lib {
				for _, v := range sc.Variants {
					var bad []string
					for _, e := range v.Expect {
						if e.Verdict == explore.Violated {
							bad = append(bad, map[bool]string{true: "every kernel", false: e.Key}[e.Default])
						}
					}
					if len(bad) == 0 {
						bad = []string{"nowhere"}
					}
					desc := v.Description
					if desc == "" {
						desc = sc.Description
					}
					desc = firstSentence(desc)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sc.FullName(v), sc.Model, strings.Join(bad, ","), desc)
				}
			}
			return tw.Flush()
		},
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	return s
}

func newKernelsCmd() *cobra.Command {
	var match, format string
	cmd := &cobra.Command{
		Use:   "kernels [--match RELEASE|auto]",
		Short: "List the kernel profiles and their behaviour switches, or match a kernel release",
		Long: `kernels lists the kernel profiles of the library matrix with their setting
of every behaviour switch ("?" marks one that could not be pinned: check
explores every candidate). --match RELEASE prints the profile a kernel
release string (as uname -r prints it) selects, why, and the evidence of
every setting; --match auto matches the running kernel.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			switch format {
			case "text":
			case "markdown":
				if match != "" {
					return cli.BadInput(fmt.Errorf("--format markdown renders docs/kernels.md: give no --match"))
				}
				md, err := profile.Markdown()
				if err != nil {
					return err
				}
				_, err = io.WriteString(w, md)
				return err
			default:
				return cli.BadInput(fmt.Errorf("--format %q: want text or markdown", format))
			}
			if match != "" {
				p, err := cli.ResolveKernel(match)
				if err != nil {
					return cli.BadInput(fmt.Errorf("--match: %w", err))
				}
				fmt.Fprintf(w, "%s selects %s: %s\n", p.Release, p.Name, p.Description)
				for _, n := range p.Notes {
					fmt.Fprintf(w, "  %s\n", n)
				}
				for i, sw := range profile.Switches() {
					fmt.Fprintf(w, "  %s: %s\n      %s\n", sw, p.Settings[i], p.Settings[i].Source)
				}
				if u := p.Unknown(); len(u) > 0 {
					fmt.Fprintf(w, "  could not be confirmed: %s; check explores every candidate and reports the verdict under each\n", strings.Join(u, ", "))
				}
				return nil
			}
			for _, p := range profile.All() {
				fmt.Fprintf(w, "%s (%s)\n  %s\n ", p.Name, p.Release, p.Description)
				for i, sw := range profile.Switches() {
					fmt.Fprintf(w, " %s=%s", sw, settingText(p.Settings[i]))
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&match, "match", "", "print the profile a kernel `RELEASE` selects (as uname -r prints it; auto: the running kernel)")
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text, or markdown (docs/kernels.md)")
	return cmd
}

// settingText is a setting in one word: its value, or ?a|b.
func settingText(s profile.Setting) string {
	if s.Known() {
		return s.Value
	}
	return "?" + strings.Join(s.Unknown, "|")
}
