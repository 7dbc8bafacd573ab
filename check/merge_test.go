package check

import (
	"strings"
	"testing"

	"raceroute/explore"
)

func part(kind string, i, n int, search string, v explore.Verdict) Report {
	return Report{Scenario: "s", Kernel: "k", Profile: "k", Verdict: v, Expected: explore.Holds, States: 10, Exhaustive: true,
		Part:       &Part{Kind: kind, Index: i, Count: n, Search: search, PrefixStates: 4},
		Properties: []PropertyReport{{Name: "p", Kind: explore.Final, Verdict: v}}}
}

func files(rs ...Report) []PartsFile {
	var out []PartsFile
	for i, r := range rs {
		out = append(out, PartsFile{Name: "f" + string(rune('0'+i)), Reports: []Report{r}})
	}
	return out
}

// merge-results refuses parts that do not make one whole, naming what is
// wrong.
func TestMergeRefusesInconsistentParts(t *testing.T) {
	whole := part(shardKind, 0, 2, "a", explore.Holds)
	whole.Part = nil
	otherProfile := part(shardKind, 1, 2, "a", explore.Holds)
	otherProfile.Profile = "other"
	otherBuild := part(shardKind, 1, 2, "a", explore.Holds)
	otherBuild.Part.Build = "v2"
	otherSplit := part(shardKind, 1, 2, "a", explore.Holds)
	otherSplit.Part.PrefixStates = 5
	for _, tt := range []struct {
		name  string
		parts []PartsFile
		want  string
	}{
		{"missing", files(part(shardKind, 0, 3, "a", explore.Holds), part(shardKind, 2, 3, "a", explore.Holds)), "missing shard 1 of 3"},
		{"twice", files(part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 0, 2, "a", explore.Holds)), "given twice"},
		{"search", files(part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 1, 2, "b", explore.Holds)), "different spaces"},
		{"count", files(part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 1, 3, "a", explore.Holds)), "parts of different checks"},
		{"kind", files(part(shardKind, 0, 2, "a", explore.Holds), part(swarmKind, 1, 2, "a", explore.Holds)), "parts of different checks"},
		{"whole", files(whole), "not of a shard"},
		{"profile", files(part(shardKind, 0, 2, "a", explore.Holds), otherProfile), "disagree on the profile"},
		{"build", files(part(shardKind, 0, 2, "a", explore.Holds), otherBuild), "different raceroute builds"},
		{"split", files(part(shardKind, 0, 2, "a", explore.Holds), otherSplit), "split the space differently"},
		{"range", files(part(shardKind, 0, -1, "a", explore.Holds)), "1 to 65536"},
	} {
		_, err := MergeParts(tt.parts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

func TestMergeVerdicts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		parts  []Report
		want   explore.Verdict
		states int64
	}{
		{"shards hold", []Report{part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 1, 2, "a", explore.Holds)}, explore.Holds, 16},
		{"a shard violated", []Report{part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 1, 2, "a", explore.Violated)}, explore.Violated, 16},
		{"a shard ran out", []Report{part(shardKind, 0, 2, "a", explore.Holds), part(shardKind, 1, 2, "a", explore.Unknown)}, explore.Unknown, 16},
		// A swarm whose members did not finish proves nothing.
		{"swarm unfinished", []Report{part(swarmKind, 0, 2, "a", explore.Holds), part(swarmKind, 1, 2, "a", explore.Holds)}, explore.Unknown, 20},
		{"swarm violated", []Report{part(swarmKind, 0, 2, "a", explore.Violated), part(swarmKind, 1, 2, "a", explore.Holds)}, explore.Violated, 20},
	} {
		m, err := MergeParts(files(tt.parts...))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m[0].Verdict != tt.want || m[0].States != tt.states {
			t.Errorf("%s: %s, %d states; want %s, %d", tt.name, m[0].Verdict, m[0].States, tt.want, tt.states)
		}
		if tt.want == explore.Unknown && (m[0].Match || !strings.Contains(m[0].Explanation, "no verdict") && !strings.Contains(m[0].Explanation, "NOT exhaustive")) {
			t.Errorf("%s: unknown merged verdict explained as %q (match %v)", tt.name, m[0].Explanation, m[0].Match)
		}
	}
}

// ReadParts and MergeParts never panic on what a file holds.
func FuzzReadParts(f *testing.F) {
	f.Add(`{"scenario":"s","kernel":"k","verdict":"holds","part":{"kind":"shard","index":0,"count":1,"search":"a"},"properties":[{"name":"p","kind":"final","verdict":"holds"}]}`)
	f.Add(`{"scenario":"s","kernel":"k","part":{"kind":"shard","index":5,"count":2}}`)
	f.Add(`{"scenario":"s","kernel":"k","part":{"kind":"shard","index":-1,"count":-3}}`)
	f.Add("not json")
	f.Fuzz(func(t *testing.T, s string) {
		pf, err := ReadParts("f", strings.NewReader(s))
		if err != nil {
			return
		}
		_, _ = MergeParts([]PartsFile{pf})
	})
}
