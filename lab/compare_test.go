package lab

import (
	"testing"

	"raceroute/explore"
	"raceroute/lab/liverun"
)

// A property the live run gave no verdict for is not compared as a
// violation: it disagrees with nothing, and says so.
func TestCompareWithoutLiveVerdict(t *testing.T) {
	models := []ModelVerdict{{Kernel: "k", Exhaustive: true, Properties: []ModelPropVerdict{{Name: "p", Verdict: explore.Holds}}}}
	for _, live := range []explore.Verdict{"", explore.Unknown} {
		res := &Result{Properties: []liverun.PropertyResult{{Name: "p", Verdict: live, Explanation: "the lab does not judge this property live"}}}
		c := Compare(res, models)
		if c.Agreement != NoLive || len(c.Properties) != 1 || c.Properties[0].Agreement != NoLive {
			t.Errorf("live %q: agreement %s %+v, want %s", live, c.Agreement, c.Properties, NoLive)
		}
	}
	res := &Result{Properties: []liverun.PropertyResult{{Name: "p", Verdict: explore.Violated}}}
	if c := Compare(res, models); c.Agreement != Disagree {
		t.Errorf("live violated against a proof: %s, want %s", c.Agreement, Disagree)
	}
}
