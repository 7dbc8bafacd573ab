package neigh

import (
	"fmt"

	"raceroute/explore"
	"raceroute/model/neigh/nud"
)

// adminProperty is the explore property of watch wi: no-stuck-entry or
// not-evicted-in-use. Both are final, judged at the horizon.
func (m *Model) adminProperty(wi int) explore.Property[State] {
	w := m.cfg.Watches[wi]
	if w.Kind == WatchStuck {
		return explore.Property[State]{
			Name:    fmt.Sprintf("no-stuck-entry(%s %s, %s)", m.hostOf(w.Iface), m.ipStr(w.IP), nud.Dur(w.Limit)),
			Kind:    explore.Final,
			Holds:   func(s *State) bool { return m.longestStuck(s, wi) <= m.cfg.Watches[wi].Limit },
			Explain: func(s *State) string { return m.explainStuck(s, wi) },
		}
	}
	return explore.Property[State]{
		Name:    fmt.Sprintf("not-evicted-in-use(%s)", m.cfg.Flows[w.Flow].Name),
		Kind:    explore.Final,
		Holds:   func(s *State) bool { return s.GoodSince[wi] < 0 },
		Explain: func(s *State) string { return m.explainEvicted(s, wi) },
	}
}

// longestStuck is watch wi's longest stuck streak, the open one
// included (to the state's clock).
func (m *Model) longestStuck(s *State, wi int) int32 {
	l := s.Longest[wi]
	if g := s.GoodSince[wi]; g >= 0 {
		l = max(l, s.Now-g)
	}
	return l
}

func (m *Model) explainStuck(s *State, wi int) string {
	w := &m.cfg.Watches[wi]
	sl := int(m.slotOf[w.Iface][w.IP])
	e := &s.Entries[sl]
	host := m.hostOf(w.Iface)
	l := m.longestStuck(s, wi)
	if l <= w.Limit {
		return fmt.Sprintf("%s's entry for %s was never stuck longer than %s (at most %s s)", host, m.ipStr(w.IP), nud.Dur(w.Limit), nud.Secs(l))
	}
	if g := s.GoodSince[wi]; g >= 0 && s.Now-g == l {
		why := "no timer is armed, and only its timer takes an entry out of " + e.State.String()
		if e.State == NUDFailed {
			why = "mcast_solicit + app_solicit = 0, so __neigh_event_send() keeps it FAILED and drops every packet instead of resolving again"
		}
		return fmt.Sprintf("%s's entry for %s has been stuck %s since t=%s (%s s, limit %s): %s",
			host, m.ipStr(w.IP), e.State, nud.Secs(g), nud.Secs(l), nud.Dur(w.Limit), why)
	}
	return fmt.Sprintf("%s's entry for %s was stuck for %s s in a row (limit %s) before a change freed it", host, m.ipStr(w.IP), nud.Secs(l), nud.Dur(w.Limit))
}

func (m *Model) explainEvicted(s *State, wi int) string {
	w := &m.cfg.Watches[wi]
	f := &m.cfg.Flows[w.Flow]
	if at := s.GoodSince[wi]; at >= 0 {
		return fmt.Sprintf("garbage collection removed %s's entry for %s at t=%s while %s was sending to it", m.hostOf(f.Iface), m.ipStr(f.IP), nud.Secs(at), f.Name)
	}
	return fmt.Sprintf("garbage collection never removed %s's entry for %s while %s used it", m.hostOf(f.Iface), m.ipStr(f.IP), f.Name)
}
