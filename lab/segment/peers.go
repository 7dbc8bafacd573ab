package segment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/lab/segment/keepalived"
	"raceroute/model/neigh"
)

// Real peers: an ARP sender of preset keepalived is keepalived itself
// (package lab/segment/keepalived), let out of FAULT so that it becomes
// MASTER at the sender's drawn start.

// prepareKeepalived says whether sender s runs as keepalived on h, and
// why it cannot.
func (r *Plan) prepareKeepalived(s neigh.Sender, h liverun.Host) []string {
	use := s.Preset == "keepalived" && s.Unicast < 0
	r.keepalived = append(r.keepalived, use)
	if !use {
		return nil
	}
	var why []string
	if h.Keepalived == "" {
		why = append(why, fmt.Sprintf("ARP sender %s (preset keepalived) runs keepalived itself: %s", s.Name, h.KeepalivedProblem))
	}
	if f := r.cfg.Ifaces[s.Iface]; !keepalived.ValidName(f.Name) {
		why = append(why, fmt.Sprintf("ARP sender %s (preset keepalived): interface name %q cannot be written into keepalived's configuration (letters, digits, '-', '_' and '.' only)", s.Name, f.Name))
	}
	return why
}

// startKeepalived starts a keepalived for every keepalived sender
// (l.peers[i], nil for the other senders), waits until each is held in
// FAULT, and sets the time each is let go (its sender's start minus
// keepalived.Down); each is stopped by the function it appends to
// stops. It moves t=0 later when a sender starts too soon for that.
func (l *neighLive) startKeepalived(ctx context.Context, stops *[]func() error) error {
	l.peers = make([]*keepalived.Peer, len(l.cfg.Senders))
	var peers []int
	for i, use := range l.keepalived {
		if !use {
			continue
		}
		s := l.cfg.Senders[i]
		f := l.cfg.Ifaces[s.Iface]
		p, err := keepalived.Start(keepalived.Config{
			Binary: l.host.Keepalived, NS: l.ns[f.Host], Host: l.cfg.Hosts[f.Host].Name,
			Sender: s.Name, Iface: f.Name, Addr: l.addrOf(s.Iface, s.IP),
			VRID: 1 + i, // 1 to neigh.MaxSenders
			Rec:  l.rec,
		})
		if err != nil {
			return err
		}
		l.peers[i] = p
		peers = append(peers, i)
		*stops = append(*stops, p.Stop)
	}
	for _, i := range peers {
		if err := l.peers[i].WaitFault(ctx); err != nil {
			return err
		}
	}
	// The initial entries are made after this, up to settle before t=0.
	if t := time.Now().Add(l.settle); t.After(l.t0) {
		l.t0 = t
	}
	const margin = 20 * time.Millisecond
	for _, i := range peers {
		if soonest := time.Now().Add(margin + keepalived.Down); l.t0.Add(l.senderAt[i][0]).Before(soonest) {
			l.t0 = soonest.Add(-l.senderAt[i][0])
		}
	}
	for _, i := range peers {
		l.peers[i].OpenAt(l.t0, l.senderAt[i][0])
	}
	return nil
}

// keepalivedNotes say, for each keepalived, when its first frame came
// against the scenario's time, and what it sent and logged.
func (l *neighLive) keepalivedNotes() []string {
	var notes []string
	events := l.rec.List()
	end := l.t0.Add(l.horizon)
	for i, p := range l.peers {
		if p == nil {
			continue
		}
		s := l.cfg.Senders[i]
		f := l.cfg.Ifaces[s.Iface]
		// Another host of the segment sees its frames.
		seer := ""
		for _, h := range l.cfg.Hosts {
			if h.Name != l.cfg.Hosts[f.Host].Name {
				seer = h.Name
				break
			}
		}
		frames := p.Frames(events, seer, kernel.MACFrom6(f.MAC))
		target, opened := p.Times()
		model := len(s.Packets)
		if len(frames) == 0 {
			notes = append(notes, fmt.Sprintf("ARP sender %s is keepalived: it sent no gratuitous ARP for %s before the horizon (the scenario: %d from t=%.3f); keepalived logged: %s",
				s.Name, l.cfg.IPs[s.IP], model, target.Sub(l.t0).Seconds(), strings.Join(p.Log(), "; ")))
			continue
		}
		n, modelN := 0, 0
		for _, at := range frames {
			if !at.After(end) {
				n++
			}
		}
		for _, at := range l.senderAt[i] {
			if !l.t0.Add(at).After(end) {
				modelN++
			}
		}
		first := frames[0]
		notes = append(notes, fmt.Sprintf("ARP sender %s is keepalived: its first gratuitous ARP for %s came at t=%.3f, %+.1f ms from the scenario's t=%.3f (let out of FAULT at t=%.3f, its master-down interval %s before the scenario's time; the rest is keepalived's reaction and timer); %d of its frames came before the horizon (the scenario's: %d of %d)",
			s.Name, l.cfg.IPs[s.IP], first.Sub(l.t0).Seconds(), float64(first.Sub(target))/float64(time.Millisecond), target.Sub(l.t0).Seconds(), opened.Sub(l.t0).Seconds(), keepalived.Down,
			n, modelN, model))
	}
	return notes
}

// keepalivedSender is the sender goroutine of a keepalived sender:
// keepalived sends on its own timer (let go by startKeepalived); at the
// horizon this records what keepalived logged.
func (l *neighLive) keepalivedSender(ctx context.Context, i int) error {
	<-ctx.Done()
	if p := l.peers[i]; p != nil {
		p.RecordLog()
	}
	return nil
}
