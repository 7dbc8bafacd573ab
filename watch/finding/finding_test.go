package finding_test

import (
	"encoding/json"
	"strings"
	"testing"

	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
)

func TestFindingStringAndJSON(t *testing.T) {
	fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseFile(t, "../testdata/seed-bad.log"))
	c := watchtest.ByDetector(fs, watch.DetectorCache)[0]
	s := c.String()
	lines := strings.Split(s, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "2016-06-11T22:32:32.532758 critical cache-contradicts-route: unreachable 2001:67c:1254:e:10::1") ||
		!strings.HasPrefix(lines[1], "    evidence: ") || !strings.HasPrefix(lines[2], "    advice: ") {
		t.Errorf("String() =\n%s", s)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["detector"] != watch.DetectorCache || got["severity"] != "critical" || got["time"] != "2016-06-11T22:32:32.532758Z" ||
		got["heal"] != "[RTCAH]Cloned unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \\ cache error -101" {
		t.Errorf("JSON = %s", b)
	}
	for _, s := range []watch.Severity{watch.SeverityInfo, watch.SeverityWarning, watch.SeverityCritical} {
		if s.String() == "" || strings.HasPrefix(s.String(), "severity(") {
			t.Errorf("severity %d has no name", s)
		}
	}
}
