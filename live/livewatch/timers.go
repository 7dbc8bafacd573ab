package livewatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"raceroute/live/netns"
	"raceroute/watch/neigh"
)

// sysctlTimers reads each device's neighbour timer sysctls in the
// watched namespace (/proc/sys/net/ipv4/neigh/DEV/... is per namespace:
// it is read from a thread inside it), caching them for a minute.
type sysctlTimers struct {
	ns *netns.NS // nil: our own namespace
	mu sync.Mutex
	at map[string]cachedTimers
}

type cachedTimers struct {
	t    neigh.Timers
	ok   bool
	read time.Time
}

// Timers implements neigh.TimerSource.
func (s *sysctlTimers) Timers(family int, dev string) (neigh.Timers, bool) {
	key := fmt.Sprintf("%d/%s", family, dev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.at[key]; ok && time.Since(c.read) < time.Minute {
		return c.t, c.ok
	}
	var t neigh.Timers
	var err error
	read := func() error { t, err = readTimers(family, dev); return nil }
	if s.ns == nil {
		read()
	} else if derr := s.ns.Do(read); derr != nil {
		err = derr
	}
	if s.at == nil {
		s.at = map[string]cachedTimers{}
	}
	s.at[key] = cachedTimers{t: t, ok: err == nil, read: time.Now()}
	return t, err == nil
}

// readTimers reads net.ipv{4,6}.neigh.DEV's timer sysctls.
func readTimers(family int, dev string) (neigh.Timers, error) {
	if dev == "" || strings.ContainsAny(dev, "/") || dev == "." || dev == ".." {
		return neigh.Timers{}, fmt.Errorf("device %q: no sysctl directory", dev)
	}
	dir := filepath.Join("/proc/sys/net/ipv4/neigh", dev)
	if family == 6 {
		dir = filepath.Join("/proc/sys/net/ipv6/neigh", dev)
	}
	var t neigh.Timers
	for _, f := range []struct {
		name string
		set  func(v int)
	}{
		{"mcast_solicit", func(v int) { t.MCastProbes = v }},
		{"ucast_solicit", func(v int) { t.UCastProbes = v }},
		{"app_solicit", func(v int) { t.AppProbes = v }},
		{"mcast_resolicit", func(v int) { t.MCastReprobes = v }},
		{"retrans_time_ms", func(v int) { t.Retrans = time.Duration(v) * time.Millisecond }},
		{"delay_first_probe_time", func(v int) { t.DelayFirst = time.Duration(v) * time.Second }},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return t, err
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return t, fmt.Errorf("%s/%s: %w", dir, f.name, err)
		}
		f.set(v)
	}
	return t, nil
}
