package neigh

import (
	"fmt"
	"time"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// macCheck is a neighbour MAC change waiting for a frame that explains it.
type macCheck struct {
	key      view.NeighKey
	old, new trace.Neigh
	at       time.Time
	deadline time.Time
	frames   int // frames seen on the device when the change happened
}

// macChanged checks that a neighbour's new MAC was announced by a frame
// seen on its device. Only devices where frames are being captured are
// checked.
func (nd *Detector) macChanged(k view.NeighKey, old, n trace.Neigh, at time.Time, out []finding.Finding) []finding.Finding {
	seen := nd.frameDevs[k.Dev]
	if seen == 0 {
		return out
	}
	for _, f := range nd.frames[k] {
		if f.mac != n.LLAddr {
			continue
		}
		if at.IsZero() || f.t.IsZero() || !f.t.Before(at.Add(-nd.cfg.FrameWindow)) && !f.t.After(at) {
			return out
		}
	}
	c := &macCheck{key: k, old: old, new: n, at: at, deadline: at.Add(nd.cfg.GARPMargin), frames: seen}
	if at.IsZero() {
		return append(out, nd.macFinding(c))
	}
	nd.macChecks = append(nd.macChecks, c)
	nd.noteDeadline(c.deadline)
	return out
}

// expireMACChecks reports the MAC changes no frame explained in time.
func (nd *Detector) expireMACChecks(now time.Time, out []finding.Finding) []finding.Finding {
	keep := nd.macChecks[:0]
	for _, c := range nd.macChecks {
		if now.After(c.deadline) {
			out = append(out, nd.macFinding(c))
		} else {
			keep = append(keep, c)
		}
	}
	clear(nd.macChecks[len(keep):])
	nd.macChecks = keep
	return out
}

func (nd *Detector) macFinding(c *macCheck) finding.Finding {
	window := fmt.Sprintf("between %s before and %s after the change", finding.FmtGap(nd.cfg.FrameWindow), finding.FmtGap(nd.cfg.GARPMargin))
	if c.at.IsZero() {
		window = "in the trace"
	}
	return finding.Finding{
		Detector: MACChange,
		Severity: finding.SeverityWarning,
		Time:     c.at,
		Objects:  []string{c.new.String()},
		Evidence: fmt.Sprintf("the entry for %s on %s changed from %s to %s at %s, but no ARP or NA frame from %s carrying %s was seen on %s %s (frames are being captured there: %d seen so far)",
			c.key.Addr, c.key.Dev, c.old.LLAddr, c.new.LLAddr, finding.FmtTime(c.at), c.key.Addr, c.new.LLAddr, c.key.Dev, window, c.frames),
		Advice: "Something other than ARP/NDP input changed the entry: an administrator or an agent writing neighbour entries (`ip neigh replace`, an SDN agent), or the frame was missed (capture drops, another interface). " +
			"If two hosts answer for " + c.key.Addr.String() + ", the entry will flap between their MACs: look for a duplicate address (`arping -D`).",
	}
}
