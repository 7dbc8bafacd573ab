// Command timeline measures how fast a timeline page of a long story is
// drawn: it makes a real story of N events (package longstory: the
// neighbour model on RHEL 7.3, told for as long as it takes), writes its
// page, loads it in headless Chromium, and prints the time until it is
// drawn (the page's first frame after its script laid out every lane),
// the time a zoom step and a step to the next event take, and the page's
// size. Run it as bench/timeline.sh, or:
//
//	go run ./bench/timeline -events 10000 -runs 3
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"raceroute/internal/chromium"
	"raceroute/internal/longstory"
	"raceroute/timeline"
)

func main() {
	n := flag.Int("events", 10000, "events in the story")
	runs := flag.Int("runs", 3, "page loads to measure (each in a fresh tab)")
	keep := flag.String("o", "", "also write the page to `FILE`")
	flag.Parse()
	if err := run(*n, *runs, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/timeline:", err)
		os.Exit(1)
	}
}

// measured is one page load.
type measured struct {
	Wall   time.Duration // Page.navigate to drawn, seen from here
	Drawn  float64       // ms from navigation start to the first frame after drawing (performance.now())
	Build  float64       // ms the page's script took to lay out and build every lane
	Zoom   float64       // ms for one zoom step (x1.5) of the timeline
	Select float64       // ms for a jump to an event 5,000 events on (scrolls there)
	Scroll float64       // ms to scroll to the end of the lanes and draw what is there
	Lanes  int
	Events int // rows of the side list
	Marks  int // events drawn on the lanes at the end (the view and a viewport either side)
}

func run(n, runs int, keep string) error {
	events, err := longstory.Story(n)
	if err != nil {
		return err
	}
	page := timeline.Page{Title: fmt.Sprintf("a story of %d events", len(events)), Groups: []timeline.Group{{
		Name: "long-story", Reports: []timeline.Report{{Title: "long-story on rhel-7.3", Verdict: "violated", Headline: "a long story",
			Match: true, Kernel: timeline.Kernel{Name: "rhel-7.3"},
			Properties: []timeline.Property{{Name: "converges", Kind: "final", Verdict: "violated", Explanation: "the benchmark's story", Story: events}}}},
	}}}
	var buf bytes.Buffer
	if err := timeline.Write(&buf, page); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "raceroute-bench-timeline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "long.html")
	if keep != "" {
		path = keep
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := chromium.Start(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("# %s, %d cores, %s %s/%s; browser %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, b.Version())
	fmt.Printf("# story: %d events, %.1f s simulated; page %.1f MB\n", len(events), float64(events[len(events)-1].T)/1000, float64(buf.Len())/1e6)
	fmt.Printf("%-4s %10s %10s %10s %10s %10s %10s %6s %6s\n", "run", "drawn_ms", "wall_ms", "build_ms", "zoom_ms", "jump_ms", "scroll_ms", "lanes", "drawn")
	var all []measured
	for i := 0; i < runs; i++ {
		m, err := load(ctx, b, "file://"+abs)
		if err != nil {
			return err
		}
		if m.Events != len(events) || m.Marks == 0 {
			return fmt.Errorf("the page lists %d events of %d and drew %d at the end of its lanes", m.Events, len(events), m.Marks)
		}
		all = append(all, m)
		fmt.Printf("%-4d %10.0f %10.0f %10.0f %10.1f %10.1f %10.1f %6d %6d\n", i+1, m.Drawn, float64(m.Wall.Microseconds())/1000, m.Build, m.Zoom, m.Select, m.Scroll, m.Lanes, m.Marks)
	}
	drawn := make([]float64, len(all))
	for i, m := range all {
		drawn[i] = m.Drawn
	}
	slices.Sort(drawn)
	med := drawn[len(drawn)/2]
	verdict := "under"
	if med >= 2000 {
		verdict = "OVER"
	}
	fmt.Printf("median time until drawn: %.0f ms (%s the 2 s target)\n", med, verdict)
	return nil
}

// load opens the page in a fresh tab and measures it.
func load(ctx context.Context, b *chromium.Browser, url string) (measured, error) {
	var m measured
	p, err := b.NewPage(ctx, 1600, 1000)
	if err != nil {
		return m, err
	}
	defer p.Close(ctx)
	start := time.Now()
	if err := p.Navigate(ctx, url); err != nil {
		return m, err
	}
	if err := p.WaitFor(ctx, "document.documentElement.getAttribute('data-drawn')", nil); err != nil {
		return m, err
	}
	m.Wall = time.Since(start)
	var r struct {
		Drawn, Build, Zoom, Select, Scroll float64
		Lanes, Events, Marks               int
	}
	js := `(function () {
	  var rr = window.raceroute, tl = rr.timelines[0];
	  var t = performance.now(); tl.setZoom(tl.zoom * 1.5); void document.body.offsetHeight; var zoom = performance.now() - t;
	  t = performance.now(); tl.select(Math.min(5000, tl.s.events.length - 1), true); void document.body.offsetHeight; var sel = performance.now() - t;
	  t = performance.now(); tl.scroller.scrollLeft = tl.scroller.scrollWidth; tl.scroll(); void document.body.offsetHeight; var scroll = performance.now() - t;
	  var last = tl.s.events.length - 1;
	  return {Drawn: rr.drawnMs, Build: rr.buildMs, Zoom: zoom, Select: sel, Scroll: scroll,
	    Lanes: document.querySelectorAll('.lane-label').length, Events: document.querySelectorAll('.side li').length,
	    Marks: document.querySelector('svg.tl g.ev[data-i="' + last + '"]') ? document.querySelectorAll('svg.tl g.ev').length : 0};
	})()`
	if err := p.Eval(ctx, js, &r); err != nil {
		return m, err
	}
	m.Drawn, m.Build, m.Zoom, m.Select, m.Scroll, m.Lanes, m.Events, m.Marks = r.Drawn, r.Build, r.Zoom, r.Select, r.Scroll, r.Lanes, r.Events, r.Marks
	return m, nil
}
