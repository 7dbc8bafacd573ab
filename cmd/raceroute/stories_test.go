package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/trace"
)

var updateStories = flag.Bool("update-stories", false, "rewrite testdata/stories.sha256 from the stories told now")

// storyKernels are the profiles whose stories TestStoriesUnchanged pins:
// the clone race (3.10, 3.16), the replace quirk (4.2) and the neighbour
// failures (RHEL 7.3).
const storyKernels = "linux-3.10,linux-3.16,linux-4.2,rhel-7.3"

// The text and JSON stories of the library's counterexamples are byte for
// byte what they were before the models began to set the events' drawing
// fields (Object, State, Related, Window, Outcome): those fields feed the
// HTML timeline only. testdata/stories.sha256 holds one digest per
// (scenario, kernel, property) of the story as WriteStory prints it and
// as JSONEvents encodes it.
func TestStoriesUnchanged(t *testing.T) {
	got := storyDigests(t)
	if *updateStories {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(got)) {
			fmt.Fprintf(&b, "%s %s\n", got[k], k)
		}
		if err := os.WriteFile("testdata/stories.sha256", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open("testdata/stories.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		digest, key, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("testdata/stories.sha256: malformed line %q", sc.Text())
		}
		want[key] = digest
	}
	if len(want) == 0 {
		t.Fatal("testdata/stories.sha256 is empty")
	}
	for k, d := range want {
		switch g, ok := got[k]; {
		case !ok:
			t.Errorf("%s: no story told any more", k)
		case g != d:
			t.Errorf("%s: the text or JSON story changed", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: a story not in testdata/stories.sha256 (run with -update-stories if the library grew)", k)
		}
	}
}

// storyDigests checks the library on storyKernels and digests each
// counterexample's text and JSON story.
func storyDigests(t *testing.T) map[string]string {
	t.Helper()
	o := defaultCheckOptions(false)
	o.kernels = cli.SplitKernels(storyKernels)
	jobs, err := collectJobs(nil, o.kernels)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := check.SearchAll(context.Background(), jobs, o.Settings, check.NewProgress(nil))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, j := range jobs {
		r, err := check.ReportJob(j, o.Settings, cache[check.SearchKey(j)])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range r.Properties {
			if p.Counterexample == nil {
				continue
			}
			h := sha256.New()
			if err := trace.WriteStory(h, p.Counterexample.Story(), "  "); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(trace.JSONEvents(p.Counterexample.Story()))
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
			out[r.Scenario+"@"+r.Kernel+"#"+p.Name] = hex.EncodeToString(h.Sum(nil))
		}
	}
	return out
}
