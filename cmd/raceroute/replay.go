package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"raceroute/explore"
	"raceroute/model/profile"
	"raceroute/scenario"
	"raceroute/trace"
)

func newReplayCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "replay TOKEN",
		Short: "Re-run a counterexample from its replay token",
		Long: `replay re-runs the schedule a replay token names (scenario, variant,
kernel profile and choices) and prints its story. The same token gives the
same story, byte for byte.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := explore.ParseToken(args[0])
			if err != nil {
				return badInput(err)
			}
			sc, err := scenario.Find(tok.Scenario)
			if err != nil {
				return badInput(fmt.Errorf("replay token: %w", err))
			}
			v, err := sc.Variant(tok.Variant)
			if err != nil {
				return badInput(fmt.Errorf("replay token: %w", err))
			}
			p, err := profile.Lookup(tok.Profile)
			if err != nil {
				return badInput(fmt.Errorf("replay token: %w", err))
			}
			c, err := sc.Compile(v, p)
			if err != nil {
				return badInput(err)
			}
			opts := explore.DefaultOptions()
			if sc.Check.Horizon.D > 0 {
				opts.Horizon = sc.Check.Horizon.Millis()
			}
			rep := c.Replay(tok.Choices, opts)
			w := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(w).Encode(struct {
					Scenario   string                   `json:"scenario"`
					Kernel     string                   `json:"kernel"`
					Verdict    explore.Verdict          `json:"verdict"`
					Property   string                   `json:"property,omitempty"`
					Events     []trace.JSONEvent        `json:"events"`
					Properties []explore.PropertyReport `json:"properties"`
				}{sc.FullName(v), p.Name, rep.Verdict, rep.Property, trace.JSONEvents(rep.Events), rep.Properties})
			}
			if format != "text" {
				return badInput(fmt.Errorf("--format %q: want text or json", format))
			}
			fmt.Fprintf(w, "%s on %s: %s\n", sc.FullName(v), p.Name, rep.Verdict)
			trace.WriteStory(w, rep.Events, "  ")
			for _, pr := range rep.Properties {
				state := "holds"
				if !pr.Holds {
					state = "VIOLATED"
				}
				fmt.Fprintf(w, "  property %s (%s) %s: %s\n", pr.Name, pr.Kind, state, pr.Explanation)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
