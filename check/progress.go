package check

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"raceroute/explore"

	"golang.org/x/term"
)

// Progress prints a status line on a terminal and nothing otherwise: the
// searches done of all, elapsed time and an estimate of what is left, and
// the states or runs per second of the search that last reported.
type Progress struct {
	w     io.Writer
	on    bool
	mu    sync.Mutex
	total int
	done  int
	began time.Time
	dirty bool
}

// NewProgress prints on w when w is a terminal.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

// Start begins a run of total searches.
func (p *Progress) Start(total int) {
	p.mu.Lock()
	p.total, p.done, p.began = total, 0, time.Now()
	p.mu.Unlock()
}

// Finished counts a search done.
func (p *Progress) Finished() {
	p.mu.Lock()
	p.done++
	p.mu.Unlock()
}

// Update reports a search's progress (explore.Options.Progress).
func (p *Progress) Update(pr explore.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := pr.Elapsed.Seconds()
	rate := fmt.Sprintf("%.2f M states/s", float64(pr.States)/max(secs, 1e-9)/1e6)
	if pr.Runs > 0 {
		rate = fmt.Sprintf("%.0f runs/s", float64(pr.Runs)/max(secs, 1e-9))
	}
	el := time.Since(p.began).Seconds()
	line := fmt.Sprintf("[%d/%d searches] %.1f s elapsed, %s", p.done, p.total, el, rate)
	if p.done > 0 {
		line += fmt.Sprintf(", about %.0f s left", el/float64(p.done)*float64(p.total-p.done))
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.dirty = true
}

// Clear erases the status line.
func (p *Progress) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}
