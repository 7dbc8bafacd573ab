package neigh_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
)

const (
	fip    = "203.0.113.5"
	oldMAC = "fa:16:3e:00:00:01"
	newMAC = "fa:16:3e:00:00:02"
)

func TestGARPIgnored(t *testing.T) {
	ms := time.Millisecond
	entry := func(d time.Duration, m string, state kernel.NUD) trace.Record {
		return watchtest.NeighRec(t, watchtest.At(d), trace.ActionNew, fip, "qg-1", m, state)
	}
	req := func(d time.Duration) trace.Record {
		return watchtest.ArpRec(t, watchtest.At(d), trace.FrameARPRequest, "qg-1", fip, newMAC, fip)
	}
	reply := func(d time.Duration) trace.Record {
		return watchtest.ArpRec(t, watchtest.At(d), trace.FrameARPReply, "qg-1", fip, newMAC, fip)
	}
	na := func(d time.Duration, override bool) trace.Record {
		r := watchtest.ArpRec(t, watchtest.At(d), trace.FrameNA, "qg-1", "2001:db8::5", newMAC, "")
		r.Frame.Override = override
		return r
	}
	tests := []struct {
		name    string
		kernel  string
		recs    []trace.Record
		want    int
		reason  []string // in the evidence
		advice  string
		objects string
	}{
		{"RHEL 7.3 ignores three replies (the seed)", "3.10.0-514.22.1.el7.x86_64",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), reply(100 * ms), reply(1100 * ms), reply(2100 * ms)}, 1,
			[]string{"2 gratuitous ARP replies", "does not recognise gratuitous ARP at all", "from 22:30:00.100000 to 22:30:01.100000",
				"still has fa:16:3e:00:00:01 (STALE)", "1.50 s after the first", "the first frame arrived 100.0 ms after the entry's last announced change (within locktime)"},
			"Upgrade to Linux 4.12", "203.0.113.5 dev qg-1 lladdr fa:16:3e:00:00:01 STALE"},
		{"3.16 with a reply", "3.16.0-4-amd64",
			[]trace.Record{entry(0, oldMAC, kernel.NUDReachable), reply(10 * ms)}, 1,
			[]string{"recognises only gratuitous ARP requests", "1 gratuitous ARP reply for"}, "arp_accept=1", ""},
		{"4.4 with a request needs arp_accept", "4.4.0-21-generic",
			[]trace.Record{entry(0, oldMAC, kernel.NUDReachable), req(10 * ms)}, 1,
			[]string{"net.ipv4.conf.qg-1.arp_accept=1 (3.14 to 4.11)"}, "sysctl -w net.ipv4.conf.qg-1.arp_accept=1", ""},
		{"5.10 should have honoured it", "5.10.0-28-amd64",
			[]trace.Record{entry(0, oldMAC, kernel.NUDReachable), req(10 * ms), reply(20 * ms)}, 1,
			[]string{"should have honoured it", "drop_gratuitous_arp", "1 gratuitous ARP request and 1 gratuitous ARP reply"}, "tcpdump", ""},
		{"RHEL 7.9 has the backports", "3.10.0-1160.el7.x86_64",
			[]trace.Record{entry(0, oldMAC, kernel.NUDReachable), reply(10 * ms)}, 1, []string{"should have honoured it"}, "", ""},
		{"unknown kernel", "",
			[]trace.Record{entry(0, oldMAC, kernel.NUDReachable), reply(10 * ms)}, 1, []string{"the watched kernel is unknown"}, "uname -r", ""},
		{"permanent entry", "5.10.0",
			[]trace.Record{entry(0, oldMAC, kernel.NUDPermanent), req(10 * ms)}, 1, []string{"the entry is PERMANENT"}, "ip neigh replace", ""},
		{"taken within locktime + margin", "3.10.0-514.el7",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), reply(10 * ms), entry(1400*ms, newMAC, kernel.NUDStale)}, 0, nil, "", ""},
		{"taken too late is still reported", "3.10.0-514.el7",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), reply(10 * ms), entry(1600*ms, newMAC, kernel.NUDStale)}, 1, []string{"does not recognise"}, "", ""},
		{"no entry for the address", "3.10.0-514.el7", []trace.Record{reply(10 * ms)}, 0, nil, "", ""},
		{"entry already has the MAC", "3.10.0-514.el7", []trace.Record{entry(0, newMAC, kernel.NUDStale), reply(10 * ms)}, 0, nil, "", ""},
		{"entry deleted meanwhile", "3.10.0-514.el7",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), reply(10 * ms), watchtest.NeighRec(t, watchtest.At(500*ms), trace.ActionDel, fip, "qg-1", oldMAC, kernel.NUDStale)}, 0, nil, "", ""},
		{"a non-gratuitous reply is not checked", "3.10.0-514.el7",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), watchtest.ArpRec(t, watchtest.At(10*ms), trace.FrameARPReply, "qg-1", fip, newMAC, "203.0.113.1")}, 0, nil, "", ""},
		{"entry on the bridge above the port", "5.10.0",
			[]trace.Record{watchtest.NeighRec(t, watchtest.At(0), trace.ActionNew, fip, "br0", oldMAC, kernel.NUDReachable), req(10 * ms)}, 1,
			[]string{"seen on qg-1 but the entry is on br0"}, "", "203.0.113.5 dev br0"},
		{"NA without the override flag", "5.10.0",
			[]trace.Record{watchtest.NeighRec(t, watchtest.At(0), trace.ActionNew, "2001:db8::5", "qg-1", oldMAC, kernel.NUDStale), na(10*ms, false)}, 1,
			[]string{"no Override flag"}, "Override flag", ""},
		{"NA with override, taken", "5.10.0",
			[]trace.Record{watchtest.NeighRec(t, watchtest.At(0), trace.ActionNew, "2001:db8::5", "qg-1", oldMAC, kernel.NUDStale), na(10*ms, true),
				watchtest.NeighRec(t, watchtest.At(11*ms), trace.ActionNew, "2001:db8::5", "qg-1", newMAC, kernel.NUDStale)}, 0, nil, "", ""},
		{"reported once while ignored", "3.10.0-514.el7",
			[]trace.Record{entry(0, oldMAC, kernel.NUDStale), reply(10 * ms), reply(5 * time.Second), reply(10 * time.Second)}, 1, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := watch.DefaultConfig()
			cfg.KernelRelease = tt.kernel
			fs, _ := watchtest.Run(t, cfg, tt.recs)
			g := watchtest.ByDetector(fs, watch.DetectorGARPIgnored)
			if len(g) != tt.want || len(watchtest.ByDetector(fs, watch.DetectorMACChange)) != len(fs)-len(g) {
				t.Fatalf("findings %v, want %d garp-ignored", fs, tt.want)
			}
			if tt.want == 0 {
				return
			}
			f := g[0]
			for _, w := range tt.reason {
				if !strings.Contains(f.Evidence, w) {
					t.Errorf("evidence %q lacks %q", f.Evidence, w)
				}
			}
			if !strings.Contains(f.Advice, tt.advice) {
				t.Errorf("advice %q lacks %q", f.Advice, tt.advice)
			}
			if tt.objects != "" && !strings.HasPrefix(f.Objects[0], tt.objects) {
				t.Errorf("objects %q, want the entry %q first", f.Objects, tt.objects)
			}
			if f.Severity != watch.SeverityCritical || f.Time.IsZero() {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func TestNeighMACChangeUnannounced(t *testing.T) {
	ms := time.Millisecond
	entry := func(d time.Duration, m string) trace.Record {
		return watchtest.NeighRec(t, watchtest.At(d), trace.ActionNew, "10.0.0.7", "eth0", m, kernel.NUDReachable)
	}
	frame := func(d time.Duration, dev, sender, m string) trace.Record {
		return watchtest.ArpRec(t, watchtest.At(d), trace.FrameARPReply, dev, sender, m, "10.0.0.1")
	}
	tests := []struct {
		name string
		recs []trace.Record
		want int
	}{
		{"change with no frame", []trace.Record{frame(0, "eth0", "10.0.0.99", newMAC), entry(10*ms, oldMAC), entry(5*time.Second, newMAC)}, 1},
		{"change after the frame that carried it", []trace.Record{entry(0, oldMAC), frame(5*time.Second, "eth0", "10.0.0.7", newMAC), entry(5*time.Second+ms, newMAC)}, 0},
		{"frame captured just after the change", []trace.Record{frame(0, "eth0", "10.0.0.99", newMAC), entry(ms, oldMAC), entry(5*time.Second, newMAC), frame(5*time.Second+20*ms, "eth0", "10.0.0.7", newMAC)}, 0},
		{"frame too old", []trace.Record{entry(0, oldMAC), frame(time.Second, "eth0", "10.0.0.7", newMAC), entry(5*time.Second, newMAC)}, 1},
		{"frame with another MAC", []trace.Record{entry(0, oldMAC), frame(5*time.Second, "eth0", "10.0.0.7", "fa:16:3e:00:00:09"), entry(5*time.Second+ms, newMAC)}, 1},
		{"no frames captured on the device", []trace.Record{frame(0, "eth1", "10.0.0.99", newMAC), entry(ms, oldMAC), entry(5*time.Second, newMAC)}, 0},
		{"first entry is not a change", []trace.Record{frame(0, "eth0", "10.0.0.99", newMAC), entry(ms, newMAC)}, 0},
		{"resync is not a change", []trace.Record{frame(0, "eth0", "10.0.0.99", newMAC), entry(ms, oldMAC), func() trace.Record {
			r := entry(5*time.Second, newMAC)
			r.Resync = true
			return r
		}()}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), tt.recs)
			m := watchtest.ByDetector(fs, watch.DetectorMACChange)
			if len(m) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d", fs, tt.want)
			}
			if tt.want > 0 && (!strings.Contains(m[0].Evidence, "changed from fa:16:3e:00:00:01 to fa:16:3e:00:00:02") || m[0].Severity != watch.SeverityWarning) {
				t.Errorf("finding %v", m[0])
			}
		})
	}
	// Without times, the check is immediate.
	lines := []string{
		"[ARP]reply 10.0.0.99 lladdr fa:16:3e:00:00:09 target 10.0.0.1 dev eth0",
		"[NEIGH]10.0.0.7 dev eth0 lladdr fa:16:3e:00:00:01 REACHABLE",
		"[NEIGH]10.0.0.7 dev eth0 lladdr fa:16:3e:00:00:02 REACHABLE",
	}
	e := watch.NewEngine(watch.DefaultConfig())
	var fs []watch.Finding
	for _, r := range watchtest.ParseLines(t, lines...) {
		fs = append(fs, e.Observe(r)...)
	}
	if len(fs) != 1 || fs[0].Detector != watch.DetectorMACChange || !strings.Contains(fs[0].Evidence, "in the trace") {
		t.Errorf("untimed findings %v", fs)
	}
}
