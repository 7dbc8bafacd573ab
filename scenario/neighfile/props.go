package neighfile

import (
	"slices"
	"time"

	"raceroute/model/neigh"
)

// The properties: converges, no-blackhole-longer-than and
// announcement-taken (no-stuck-entry and not-evicted-in-use: admin.go).

func (c *compiler) property(p Property, horizon int32) error {
	sc := c.sc
	switch {
	case p.NoStuck != nil || p.NotEvicted != nil:
		if err := c.adminProperty(p); err != nil {
			return err
		}
	case p.Converges != nil && p.NoBlackhole == nil && p.Announced == nil:
		cv := p.Converges
		h, err := c.ifaceRef(cv.Host, "host")
		if err != nil {
			return err
		}
		ip, err := c.ip(cv.IP, "ip")
		if err != nil {
			return err
		}
		if c.cfg.Owner[ip] < 0 && !slices.ContainsFunc(c.cfg.Moves, func(m neigh.Move) bool { return m.IP == ip }) {
			return sc.ErrorAt(cv.IP, "converges: no host owns %s (give it in an interface's `addrs:`), so no entry can ever hold its owner's MAC", c.cfg.IPs[ip])
		}
		within, err := c.dur(cv.Within, "within", -1)
		if err != nil {
			return err
		}
		if within < 0 {
			return sc.Errorf(cv.At, "converges needs `within:` (e.g. 30s)")
		}
		mv := -1
		for i, m := range c.cfg.Moves {
			if m.IP == ip {
				mv = i
			}
		}
		end := within
		if mv >= 0 {
			end += c.cfg.Moves[mv].At.Max
		}
		if end > horizon {
			return sc.ErrorAt(cv.Within, "converges within %s ends after the horizon (%s): raise check: horizon", cv.Within.Text, time.Duration(horizon)*time.Millisecond)
		}
		if _, err := c.slot(h, ip, cv.IP.Pos()); err != nil {
			return err
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchConverges, Iface: h, IP: ip, Limit: within, Move: mv, Flow: -1})
	case p.NoBlackhole != nil && p.Converges == nil && p.Announced == nil:
		nb := p.NoBlackhole
		name, err := c.text(nb.Flow, "flow")
		if err != nil {
			return err
		}
		fi := -1
		for i, f := range c.cfg.Flows {
			if f.Name == name {
				fi = i
			}
		}
		if fi < 0 {
			return sc.ErrorAt(nb.Flow, "no flow %q", name)
		}
		limit, err := c.dur(nb.Limit, "limit", -1)
		if err != nil {
			return err
		}
		if limit < 0 {
			return sc.Errorf(nb.At, "no-blackhole-longer-than needs `limit:` (e.g. 10s)")
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchBlackhole, Flow: fi, Limit: limit, Move: -1})
	case p.Announced != nil && p.Converges == nil && p.NoBlackhole == nil:
		an := p.Announced
		h, err := c.ifaceRef(an.Host, "host")
		if err != nil {
			return err
		}
		ip, err := c.ip(an.IP, "ip")
		if err != nil {
			return err
		}
		if c.cfg.IPs[ip].Is6() != c.cfg.Ifaces[h].V6() {
			return sc.ErrorAt(an.IP, "announcement-taken: %s is not of %s's family", c.cfg.IPs[ip], an.Host.Text)
		}
		if _, err := c.slot(h, ip, an.IP.Pos()); err != nil {
			return err
		}
		c.cfg.Watches = append(c.cfg.Watches, neigh.Watch{Kind: neigh.WatchAnnounced, Iface: h, IP: ip, Move: -1, Flow: -1})
	default:
		return sc.Errorf(p.At, "each property is one of `converges:`, `no-blackhole-longer-than:`, `announcement-taken:`, `no-stuck-entry:` or `not-evicted-in-use:`")
	}
	if len(c.cfg.Watches) > neigh.MaxWatches {
		return sc.Errorf(p.At, "at most %d properties", neigh.MaxWatches)
	}
	return nil
}
