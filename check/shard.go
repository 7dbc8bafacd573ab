package check

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"raceroute/explore"
)

// Part is what a report of one shard of a sharded check, or of one member
// of a swarm, says about the part of the space it covered, and what
// merge-results needs to combine the parts.
type Part struct {
	// Kind is "shard" or "swarm"; Index counts from 0 to Count-1.
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	Count int    `json:"count"`
	// Search identifies what was searched: the scenario's content, its
	// variant, the settings of every switch it depends on, and the
	// options that shape the space. Parts of one check share it.
	Search string `json:"search"`
	// Build names the raceroute that ran the part (its VCS revision and
	// Go version): models change between builds.
	Build string `json:"build"`
	// Shards: the split depth, the states up to it (explored and counted
	// by every shard), the frontier states at it and this shard's share.
	SplitDepth    int   `json:"split_depth,omitempty"`
	PrefixStates  int64 `json:"prefix_states,omitempty"`
	Frontier      int   `json:"frontier,omitempty"`
	ShardFrontier int   `json:"shard_frontier,omitempty"`
	// Fingerprints is the file of the shard's visited fingerprints
	// (sorted, 8 bytes little-endian each), when --fingerprints was given.
	Fingerprints string `json:"fingerprints,omitempty"`
	// Seed is a swarm member's; Completed tells that its randomised DFS
	// finished within its bounds, and so covered every schedule.
	Seed      uint64 `json:"seed,omitempty"`
	Completed bool   `json:"completed,omitempty"`
}

// Part kinds.
const (
	shardKind = "shard"
	swarmKind = "swarm"
)

func (p *Part) name() string {
	if p.Kind == swarmKind {
		return fmt.Sprintf("swarm member %d of %d", p.Index, p.Count)
	}
	return fmt.Sprintf("shard %d of %d", p.Index, p.Count)
}

// scope says what a part's verdict without a counterexample covers.
func (p *Part) scope(r Report) string {
	if p.Kind == swarmKind {
		if p.Completed {
			return fmt.Sprintf("%s (seed %d): its randomised search finished, covering every schedule in %d states; raceroute merge-results combines the members", p.name(), p.Seed, r.States)
		}
		return fmt.Sprintf("%s (seed %d): a randomised search, NOT exhaustive: it covered %d states before its bound; raceroute merge-results combines the members", p.name(), p.Seed, r.States)
	}
	return fmt.Sprintf("%s: no violation in this shard's part of the space (%d of the %d frontier states at depth %d and what lies below them); the other shards' parts are unchecked here: raceroute merge-results gives the verdict", p.name(), p.ShardFrontier, p.Frontier, p.SplitDepth)
}

// apply sets the explorer options o gives beyond the scenario's.
func (o Settings) apply(opts *explore.Options) {
	opts.Workers, opts.Shard, opts.Swarm = o.Workers, o.Shard, o.Swarm
	if o.MaxStates > 0 {
		opts.MaxStates = o.MaxStates
	}
	opts.ExpectStates = o.ExpectStates
}

// searchID identifies a search of job j with opts across machines (not
// by the scenario file's path, which may differ).
func searchID(j Job, opts explore.Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s", j.Scenario.Name, j.Scenario.ContentHash(), j.Variant.Name)
	for _, sw := range j.Scenario.Switches() {
		st, _ := j.Profile.Setting(sw)
		b.WriteString("\x00" + sw + "=" + st.Value)
	}
	fmt.Fprintf(&b, "\x00strategy=%s bound=%d horizon=%d no-reduction=%v reduce=%s exact=%v max-states=%d",
		opts.Strategy, opts.PreemptionBound, opts.Horizon, opts.NoReduction, opts.Reduce, opts.Exact, opts.MaxStates)
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:8])
}

// checkSharded runs an exhaustive (or swarm) check, writing a shard's
// fingerprints where o asks.
func (o Settings) checkSharded(ctx context.Context, j Job, c explore.Checker, opts explore.Options, d *Searched) error {
	var fps []uint64
	if o.Fingerprints != "" && opts.Shard.Count > 1 {
		opts.Visited = func(fp uint64) { fps = append(fps, fp) }
	}
	d.res = c.Check(ctx, opts)
	if opts.Visited == nil {
		return nil
	}
	slices.Sort(fps)
	name := fmt.Sprintf("%s-shard-%d-of-%d.fp", searchID(j, opts), opts.Shard.Index, opts.Shard.Count)
	path, err := filepath.Abs(filepath.Join(o.Fingerprints, name))
	if err != nil {
		return fmt.Errorf("--fingerprints: %w", err)
	}
	buf := make([]byte, 0, 8*len(fps))
	for _, fp := range fps {
		buf = binary.LittleEndian.AppendUint64(buf, fp)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("--fingerprints: %w", err)
	}
	d.fingerprints = path
	return nil
}

// describe fills a part's report.
func (o Settings) describe(r *Report, j Job, opts explore.Options, done *Searched) {
	res := done.res
	if res.Workers > 1 {
		r.Workers = res.Workers
	}
	defer func() {
		if r.Part != nil {
			r.Part.Build = build()
		}
	}()
	switch {
	case opts.Shard.Count > 1:
		r.Part = &Part{Kind: shardKind, Index: opts.Shard.Index, Count: opts.Shard.Count, Search: searchID(j, opts),
			SplitDepth: res.SplitDepth, PrefixStates: res.PrefixStates, Frontier: res.Frontier, ShardFrontier: res.ShardFrontier,
			Fingerprints: done.fingerprints}
	case opts.Swarm.Count > 0:
		r.Part = &Part{Kind: swarmKind, Index: opts.Swarm.Index, Count: opts.Swarm.Count, Search: searchID(j, opts),
			Seed: opts.Seed, Completed: res.Exhaustive}
	default:
		return
	}
	if r.Counterexample == nil {
		r.Explanation = verdictScope(*r)
	}
}

// build names this raceroute build for parts: the VCS revision (with
// +modified) and the Go version.
func build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, mod := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				mod = "+modified"
			}
		}
	}
	return strings.TrimSpace(bi.Main.Version + " " + rev + mod + " " + bi.GoVersion)
}
