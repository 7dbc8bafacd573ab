package timeline_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"raceroute/internal/chromium/chromiumtest"
	"raceroute/internal/longstory"
	"raceroute/timeline"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chromiumtest.Close()
	os.Exit(code)
}

// A story of 10,000 events renders: every event is in the side list, the
// lanes are drawn where the view is, and scrolling to the end of the
// lanes draws the last events (bench/timeline measures how fast).
func TestLongStoryRenders(t *testing.T) {
	chromiumtest.Browser(t)
	events, err := longstory.Story(10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 10000 {
		t.Fatalf("the long story has %d events", len(events))
	}
	var b bytes.Buffer
	err = timeline.Write(&b, timeline.Page{Title: "long", Groups: []timeline.Group{{Name: "long", Reports: []timeline.Report{{
		Title: "long", Verdict: "violated", Properties: []timeline.Property{{Name: "p", Verdict: "violated", Story: events}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := chromiumtest.Open(t, b.Bytes(), 1400, 900)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var r struct {
		Rows, Lanes, Start, End int
		Last                    bool
		Width                   float64
	}
	js := `(function () {
	  var tl = window.raceroute.timelines[0], svg = function () { return tl.root.querySelector('svg.tl'); };
	  var start = svg().querySelectorAll('g.ev').length;
	  tl.scroller.scrollLeft = tl.scroller.scrollWidth;
	  tl.scroll();
	  return {Rows: tl.root.querySelectorAll('.side li').length, Lanes: tl.root.querySelectorAll('.lane-label').length,
	    Start: start, End: svg().querySelectorAll('g.ev').length, Width: +svg().getAttribute('width'),
	    Last: !!svg().querySelector('g.ev[data-i="9999"]')};
	})()`
	if err := p.Eval(ctx, js, &r); err != nil {
		t.Fatal(err)
	}
	if r.Rows != 10000 || r.Lanes < 5 || r.Start == 0 || r.End == 0 || !r.Last || r.Width < 10000*16 {
		t.Fatalf("the long story's page: %+v", r)
	}
}
