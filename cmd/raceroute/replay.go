package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
	"raceroute/timeline"
	"raceroute/trace"
)

func newReplayCmd() *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "replay TOKEN",
		Short: "Re-run a counterexample from its replay token",
		Long: `replay re-runs the schedule a replay token names (scenario, variant,
kernel profile, property and choices) and prints its story and every
property's verdict in that run. The same token gives the same story, byte
for byte. A token of a scenario file works from any directory, and is
refused once the file has changed.`,
		Args: cli.ExactArgs(1, "a replay token, as check prints it"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" && format != "html" {
				return cli.BadInput(fmt.Errorf("--format %q: want text, json or html", format))
			}
			tok, err := explore.ParseToken(args[0])
			if err != nil {
				return cli.BadInput(err)
			}
			sc, err := scenario.Find(tok.Scenario)
			if err != nil {
				return cli.BadInput(fmt.Errorf("replay token: %w", err))
			}
			if d := check.TokenDigest(sc); d != tok.Digest {
				return cli.BadInput(fmt.Errorf("replay token: %s has changed since the token was made (content %s, token %s): check it again for a new token", sc.Source, d, tok.Digest))
			}
			v, err := sc.Variant(tok.Variant)
			if err != nil {
				return cli.BadInput(fmt.Errorf("replay token: %w", err))
			}
			p, err := profile.Lookup(tok.Profile)
			if err != nil {
				return cli.BadInput(fmt.Errorf("replay token: %w", err))
			}
			c, err := sc.Compile(v, p)
			if err != nil {
				return cli.BadInput(err)
			}
			opts := explore.DefaultOptions()
			if sc.Check.Horizon.D > 0 {
				opts.Horizon = sc.Check.Horizon.Millis()
			}
			rep, err := c.ReplayUntil(tok.Choices, tok.Property, opts)
			if err != nil {
				return cli.BadInput(fmt.Errorf("replay token: %w", err))
			}
			w := cmd.OutOrStdout()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return cli.BadInput(fmt.Errorf("-o: %w", err))
				}
				defer f.Close()
				w = f
			}
			switch format {
			case "html":
				page := replayPage(args[0], sc.FullName(v), p, sc.Switches(), rep)
				page.Command = commandLine(cmd, args)
				if err := timeline.Write(w, page); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
				return nil
			case "json":
				return json.NewEncoder(w).Encode(struct {
					Scenario   string                   `json:"scenario"`
					Kernel     string                   `json:"kernel"`
					Verdict    explore.Verdict          `json:"verdict"`
					Property   string                   `json:"property,omitempty"`
					Events     []trace.JSONEvent        `json:"events"`
					Properties []explore.PropertyReport `json:"properties"`
				}{sc.FullName(v), p.Name, rep.Verdict, rep.Property, trace.JSONEvents(rep.Events), rep.Properties})
			}
			writeReplay(w, sc.FullName(v), p.Name, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output `FORMAT`: text, json, or html (the story as a timeline)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")
	return cmd
}

// replayPage is the HTML page of a replayed run: its story as a
// timeline, under the property it was replayed for (or the first, when
// the run violated none), and every property's verdict in the run.
func replayPage(token, name string, p profile.Profile, switches []string, rep explore.Replayed) timeline.Page {
	verdict := string(rep.Verdict)
	r := timeline.Report{ID: "replay", Title: name + " on " + p.ID(), Verdict: verdict, Headline: strings.ToUpper(verdict) + " in this run", Match: true,
		Kernel: timeline.Kernel{Name: p.ID(), Summary: p.Description, Settings: check.ProfileSettings(p, switches)}}
	storyAt := 0
	for i, pr := range rep.Properties {
		if pr.Name == rep.Property && pr.Verdict == explore.Violated {
			storyAt = i
		}
	}
	for i, pr := range rep.Properties {
		v := string(pr.Verdict)
		if pr.Verdict == explore.Holds {
			v = "holds in this run"
		}
		hp := timeline.Property{Name: pr.Name, Kind: pr.Kind.String(), Verdict: v, Explanation: pr.Explanation}
		if pr.Verdict == explore.Violated {
			hp.Verdict = string(explore.Violated)
		}
		if i == storyAt {
			hp.Story, hp.Replay = rep.Events, token
		}
		r.Properties = append(r.Properties, hp)
	}
	return timeline.Page{Title: r.Title, Groups: []timeline.Group{{Name: name, Reports: []timeline.Report{r}}}}
}

// writeReplay prints a replayed run's story and every property's verdict
// in it.
func writeReplay(w io.Writer, name, kernel string, rep explore.Replayed) {
	fmt.Fprintf(w, "%s on %s: %s\n", name, kernel, rep.Verdict)
	trace.WriteStory(w, rep.Events, "  ")
	for _, pr := range rep.Properties {
		state := string(pr.Verdict)
		switch pr.Verdict {
		case explore.Violated:
			state = "VIOLATED"
		case explore.NotEvaluated:
			state = "not evaluated"
		case explore.Holds:
			state = "holds in this run"
		}
		fmt.Fprintf(w, "  property %s (%s) %s: %s\n", pr.Name, pr.Kind, state, pr.Explanation)
	}
}
