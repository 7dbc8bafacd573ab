package neigh

import (
	"fmt"

	"raceroute/explore"
	"raceroute/model/neigh/nud"
)

// Properties returns the scenario's properties as explore properties, in
// the order of cfg.Watches. Both are final properties: they are judged
// once the run reaches its horizon, so that a story shows the whole run.
func (m *Model) Properties(horizon int32) []explore.Property[State] {
	var out []explore.Property[State]
	for i := range m.cfg.Watches {
		w := m.cfg.Watches[i]
		wi := i
		switch w.Kind {
		case WatchConverges:
			out = append(out, explore.Property[State]{
				Name:    fmt.Sprintf("converges(%s %s within %s)", m.hostOf(w.Iface), m.ipStr(w.IP), nud.Dur(w.Limit)),
				Kind:    explore.Final,
				Holds:   func(s *State) bool { return m.converged(s, wi) },
				Explain: func(s *State) string { return m.explainConverges(s, wi) },
			})
		case WatchBlackhole:
			out = append(out, explore.Property[State]{
				Name:    fmt.Sprintf("no-blackhole-longer-than(%s, %s)", m.cfg.Flows[w.Flow].Name, nud.Dur(w.Limit)),
				Kind:    explore.Final,
				Holds:   func(s *State) bool { return m.longestLoss(s, wi) <= m.cfg.Watches[wi].Limit },
				Explain: func(s *State) string { return m.explainBlackhole(s, wi) },
			})
		case WatchAnnounced:
			out = append(out, explore.Property[State]{
				Name:    fmt.Sprintf("announcement-taken(%s %s)", m.hostOf(w.Iface), m.ipStr(w.IP)),
				Kind:    explore.Final,
				Holds:   func(s *State) bool { return s.Announced[wi] != annMissed },
				Explain: func(s *State) string { return m.explainAnnounced(s, wi) },
			})
		default:
			out = append(out, m.adminProperty(wi))
		}
	}
	return out
}

// deadline is when the watched entry must hold the owner's MAC, or -1
// when the move it measures from has not happened.
func (m *Model) deadline(s *State, wi int) int32 {
	w := &m.cfg.Watches[wi]
	if w.Move < 0 {
		return w.Limit
	}
	if s.MovedAt[w.Move] < 0 {
		return -1
	}
	return s.MovedAt[w.Move] + w.Limit
}

func (m *Model) converged(s *State, wi int) bool {
	d := m.deadline(s, wi)
	if d < 0 {
		return true
	}
	g := s.GoodSince[wi]
	return g >= 0 && g <= d
}

func (m *Model) explainConverges(s *State, wi int) string {
	w := &m.cfg.Watches[wi]
	e := &s.Entries[m.slotOf[w.Iface][w.IP]]
	owner := int(s.Owner[w.IP])
	host := m.hostOf(w.Iface)
	d := m.deadline(s, wi)
	if d < 0 {
		return fmt.Sprintf("%s never moved: nothing to converge", m.ipStr(w.IP))
	}
	since := "since the start"
	if w.Move >= 0 {
		since = fmt.Sprintf("after it moved to %s at t=%s", m.hostName(owner), nud.Secs(s.MovedAt[w.Move]))
	}
	if m.converged(s, wi) {
		return fmt.Sprintf("%s learnt %s's MAC %s for %s at t=%s, %s s %s (limit %s)",
			host, m.hostName(owner), m.macStr(uint8(owner+1)), m.ipStr(w.IP), nud.Secs(s.GoodSince[wi]), nud.Secs(s.GoodSince[wi]-(d-w.Limit)), since, nud.Dur(w.Limit))
	}
	now := fmt.Sprintf("its entry is %s", StateName(e.State))
	if e.State&NUDValid != 0 {
		now = fmt.Sprintf("its entry still says %s (%s's MAC), %s", m.macStr(e.LL), m.hostName(int(e.LL)-1), StateName(e.State))
	}
	if g := s.GoodSince[wi]; g >= 0 {
		return fmt.Sprintf("%s learnt %s's MAC for %s only at t=%s, %s; deadline was t=%s", host, m.hostName(owner), m.ipStr(w.IP), nud.Secs(g), since, nud.Secs(d))
	}
	if !e.Exists() {
		return fmt.Sprintf("%s %s has no entry for %s at t=%s; it should hold %s (%s) by t=%s",
			host, m.cfg.Ifaces[w.Iface].Name, m.ipStr(w.IP), nud.Secs(s.Now), m.macStr(uint8(owner+1)), m.hostName(owner), nud.Secs(d))
	}
	return fmt.Sprintf("%s %s still sends %s's traffic to the wrong MAC at t=%s: %s; it should hold %s (%s) by t=%s",
		host, m.cfg.Ifaces[w.Iface].Name, m.ipStr(w.IP), nud.Secs(s.Now), now, m.macStr(uint8(owner+1)), m.hostName(owner), nud.Secs(d))
}

// longestLoss is the longest stretch of undelivered packets, the open one
// included (measured to the state's clock).
func (m *Model) longestLoss(s *State, wi int) int32 {
	fs := &s.Flows[m.cfg.Watches[wi].Flow]
	l := fs.MaxLoss
	if fs.LossSince >= 0 {
		l = max(l, s.Now-fs.LossSince)
	}
	return l
}

func (m *Model) explainBlackhole(s *State, wi int) string {
	w := &m.cfg.Watches[wi]
	f := &m.cfg.Flows[w.Flow]
	fs := &s.Flows[w.Flow]
	l := m.longestLoss(s, wi)
	host := m.hostOf(f.Iface)
	if l <= w.Limit {
		return fmt.Sprintf("traffic from %s to %s (%s) was lost for at most %s s in a row (limit %s)", host, m.ipStr(f.IP), f.Name, nud.Secs(l), nud.Dur(w.Limit))
	}
	if fs.LossSince >= 0 && s.Now-fs.LossSince == l {
		return fmt.Sprintf("traffic from %s to %s (%s) has been blackholed since t=%s (%s s, limit %s) and still is at t=%s",
			host, m.ipStr(f.IP), f.Name, nud.Secs(fs.LossSince), nud.Secs(l), nud.Dur(w.Limit), nud.Secs(s.Now))
	}
	return fmt.Sprintf("traffic from %s to %s (%s) was blackholed for %s s in a row (limit %s)", host, m.ipStr(f.IP), f.Name, nud.Secs(l), nud.Dur(w.Limit))
}

// explainAnnounced says what the watched entry held after the last
// announcement of its address.
func (m *Model) explainAnnounced(s *State, wi int) string {
	w := &m.cfg.Watches[wi]
	host, ip := m.hostOf(w.Iface), m.ipStr(w.IP)
	switch s.Announced[wi] {
	case annNone:
		return fmt.Sprintf("no announcement of %s reached %s", ip, host)
	case annNoEntry:
		return fmt.Sprintf("%s had no entry for %s when the last announcement came (t=%s): nothing to update", host, ip, nud.Secs(s.AnnAt[wi]))
	case annTaken:
		return fmt.Sprintf("%s's entry for %s held the announced MAC after the last announcement (t=%s)", host, ip, nud.Secs(s.AnnAt[wi]))
	}
	held := "no valid lladdr"
	if ll := s.AnnLL[wi]; ll != 0 {
		held = fmt.Sprintf("%s (%s's MAC)", m.macStr(ll), m.hostName(int(ll)-1))
	}
	return fmt.Sprintf("%s's entry for %s did not take the announcement: after the last one (t=%s) it still held %s (the story shows the kernel's decision at each frame)", host, ip, nud.Secs(s.AnnAt[wi]), held)
}
