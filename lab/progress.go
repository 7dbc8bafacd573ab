package lab

import (
	"fmt"
	"io"
	"time"
)

// Progress says up front how long the runs take, and shows progress
// on a terminal only.
type Progress struct {
	w     io.Writer
	on    bool
	items []Item
	left  time.Duration
	cur   string
	dirty bool
}

// NewProgress reports on w how items run; on says that w is a terminal,
// where a line shows the run under way.
func NewProgress(w io.Writer, on bool, items []Item) *Progress {
	return &Progress{w: w, on: on, items: items}
}

// Announce says how long the runs will take, before any starts.
func (p *Progress) Announce() {
	n, timed, refused := 0, 0, 0
	for _, it := range p.items {
		if it.Err != nil {
			refused++
			continue
		}
		n++
		p.left += it.live.Duration
		if it.live.Timed {
			timed++
		}
	}
	if n == 1 {
		for _, it := range p.items {
			if it.live != nil && it.live.Timed {
				fmt.Fprintf(p.w, "raceroute lab: %s is timed and runs in real time: about %s\n", it.Name, it.live.Duration.Round(time.Second))
			}
		}
		return
	}
	fmt.Fprintf(p.w, "raceroute lab: %d scenario variants to run live (%d timed, in real time), %d cannot run here: about %s in all\n", n, timed, refused, p.left.Round(time.Second))
}

func (p *Progress) starting(it *Item) { p.cur = it.Name }

func (p *Progress) finished(it *Item) { p.left -= it.live.Duration }

func (p *Progress) update(elapsed, total time.Duration) {
	if !p.on {
		return
	}
	rest := p.left - min(elapsed, total)
	fmt.Fprintf(p.w, "\r\x1b[K%s: %.0f of %.0f s; about %s left in all", p.cur, elapsed.Seconds(), total.Seconds(), rest.Round(time.Second))
	p.dirty = true
}

// Clear erases the line of the run under way.
func (p *Progress) Clear() {
	if p.on && p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}
