package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
)

func newScenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the embedded scenario library",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := scenario.Library()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SCENARIO\tMODEL\tEXPECTED VIOLATED ON\tDESCRIPTION")
			for _, sc := range lib {
				for _, v := range sc.Variants {
					var bad []string
					for _, p := range profile.Names() {
						if v.Expect[p] == explore.Violated {
							bad = append(bad, strings.TrimPrefix(p, "linux-"))
						}
					}
					if len(bad) == 0 {
						bad = []string{"none"}
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
	return &cobra.Command{
		Use:   "kernels",
		Short: "List the kernel profiles and their behaviour switches",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, p := range profile.All() {
				fmt.Fprintf(w, "%s\n  %s\n", p.Name, p.Description)
				fmt.Fprintf(w, "  ipv6 cache: %s; ipv6 replace: %s; unreachable error: %d\n", p.IPv6Cache, p.IPv6Replace, p.UnreachableErr)
				fmt.Fprintf(w, "  neigh updated: %s; gratuitous ARP: %s; confirmation: %s", p.Updated, p.GARP, p.Confirmation)
				if p.ArpAcceptSubnet {
					fmt.Fprint(w, "; arp_accept=2 (subnet)")
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}
