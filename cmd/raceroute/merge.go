package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
)

func newMergeCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "merge-results FILE|DIR...",
		Short: "Combine the JSON reports of a sharded or swarm check into one verdict",
		Long: `merge-results reads the reports that check --shard I/N --format json
(or --swarm I/N) wrote, one file per part or several parts per file; a
directory stands for every *.json file in it. For each scenario and
kernel it needs every part, 0 to N-1, of one search (the same scenario
content, kernel settings and options) and prints one report: violated
when a part found a violation (with its replay token), holds when every
shard found none, unknown otherwise; a swarm's holds needs a member that
finished. It says how the total states were counted: shards overlap
below the split depth, so their sum is at least the distinct count, which
it gives exactly when the shards wrote --fingerprints.

Exit status: 0 when every merged verdict matches its expectation, 1
otherwise, 2 on bad input (inconsistent or missing parts).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return cli.BadInput(fmt.Errorf("--format %q: want text or json", format))
			}
			names, err := expandResultArgs(args)
			if err != nil {
				return cli.BadInput(err)
			}
			var files []check.PartsFile
			for _, name := range names {
				f, err := os.Open(name)
				if err != nil {
					return cli.BadInput(err)
				}
				pf, err := check.ReadParts(name, f)
				f.Close()
				if err != nil {
					return cli.BadInput(err)
				}
				files = append(files, pf)
			}
			merged, err := check.MergeParts(files)
			if err != nil {
				return cli.BadInput(err)
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			mismatches := 0
			for _, r := range merged {
				if !r.Match {
					mismatches++
				}
				if format == "json" {
					if err := enc.Encode(r); err != nil {
						return fmt.Errorf("write report: %w", err)
					}
				} else {
					check.WriteMerged(out, r)
				}
			}
			if mismatches > 0 {
				return cli.MismatchError{N: mismatches}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text or json")
	return cmd
}

// expandResultArgs replaces each directory by the *.json files in it.
func expandResultArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.json reports in the directory", a)
		}
		slices.Sort(m)
		out = append(out, m...)
	}
	return out, nil
}
