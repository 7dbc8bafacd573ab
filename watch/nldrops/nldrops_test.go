package nldrops

import (
	"strings"
	"testing"
	"time"
)

const header = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Socket
		err      string
	}{
		{"6.x", header +
			"0000000090a7e8b5 0   747        00000113 0        0        0     2        0        3084932 \n" +
			"000000007ac87b63 0   0          00000000 0        0        0     2        12       4       \n",
			[]Socket{{Protocol: 0, PortID: 747, Groups: 0x113, Drops: 0, Inode: 3084932}, {Drops: 12, Inode: 4}}, ""},
		{"columns found by name", "Inode Drops Groups Pid Eth\n7 3 ff 9 16\n", []Socket{{Protocol: 16, PortID: 9, Groups: 0xff, Drops: 3, Inode: 7}}, ""},
		{"empty", "", nil, "empty"},
		{"no Drops column", "sk Eth Pid Groups Rmem Wmem Dump Locks Inode\n", nil, "no Drops column"},
		{"short line", header + "0000 0 747\n", nil, "line 2: 3 fields, want 10"},
		{"bad number", header + "0000000090a7e8b5 0 747 00000113 0 0 0 2 many 3084932\n", nil, `line 2: Drops "many": want a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("socket %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(header + "0000000090a7e8b5 0   747        00000113 0        0        0     2        0        3084932 \n")
	f.Add("Inode Drops Groups Pid Eth\n7 3 ff 9 16\n")
	f.Fuzz(func(t *testing.T, in string) {
		Parse(strings.NewReader(in)) // must not panic
	})
}

func TestDetectorReportsIncreases(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	babeld := Owner{PID: 812, Comm: "babeld"}
	owners := map[uint64]Owner{100: babeld}
	d := New()
	sample := func(drops100, drops200 uint64) []Socket {
		return []Socket{{Inode: 100, Groups: 0x400, Drops: drops100}, {Inode: 200, Drops: drops200}, {Inode: 300, Drops: 9}}
	}
	steps := []struct {
		at     time.Duration
		socks  []Socket
		want   []string // one substring of each finding's evidence, in order
		object string
	}{
		{0, sample(50, 7), nil, ""}, // the baseline: a static count is no finding
		{time.Second, sample(50, 7), nil, ""},
		{2 * time.Second, sample(4871, 7), []string{"the NETLINK_ROUTE socket of babeld (pid 812) dropped 4821 route, neighbour, address or link events (multicast groups 0x00000400) between 01:00:01.000000 and 01:00:02.000000 (4871 dropped since it was opened)"}, "babeld pid 812 netlink socket inode 100"},
		// Within Repeat of its finding, babeld's further drops wait; the
		// other socket's first rise is news.
		{3 * time.Second, sample(4872, 8), []string{"an unknown process (socket inode 200; it may have exited) dropped 1 "}, "netlink socket inode 200"},
		{30 * time.Second, sample(6000, 8), nil, ""},
		{62 * time.Second, sample(6001, 8), []string{"babeld (pid 812) dropped 1130 route, neighbour, address or link events (multicast groups 0x00000400) between 01:00:02.000000 and 01:01:02.000000 since it was last reported (6001 dropped"}, ""},
		// A socket opened since the last sample: its drops are news.
		{63 * time.Second, append(sample(6001, 8), Socket{Inode: 400, Protocol: 16, Drops: 3}), []string{"the NETLINK_GENERIC socket of an unknown process (socket inode 400; it may have exited) dropped 3 messages between 01:01:02.000000 and 01:01:03.000000"}, ""},
	}
	skip := map[uint64]bool{300: true}
	for _, st := range steps {
		at := t0.Add(st.at)
		rising := d.Rising(at, st.socks)
		fs := d.Observe(at, st.socks, owners, skip)
		if len(fs) != len(st.want) {
			t.Fatalf("at %v: %d findings %v, want %d", st.at, len(fs), fs, len(st.want))
		}
		if len(rising) < len(fs) {
			t.Errorf("at %v: Rising %v misses some of %v", st.at, rising, fs)
		}
		for i, f := range fs {
			if f.Detector != Name || f.Severity.String() != "warning" || !strings.Contains(f.Advice, "SO_RCVBUF") {
				t.Errorf("finding %+v", f)
			}
			if !strings.Contains(f.Evidence, st.want[i]) {
				t.Errorf("at %v: evidence\n%s\nlacks %q", st.at, f.Evidence, st.want[i])
			}
		}
		if st.object != "" && (len(fs) == 0 || fs[0].Objects[0] != st.object) {
			t.Errorf("at %v: objects %v, want %q", st.at, fs, st.object)
		}
	}
	// A socket that was reported and went is forgotten.
	d.Observe(t0.Add(4*time.Second), nil, owners, skip)
	if len(d.bases) != 0 {
		t.Errorf("bases kept for closed sockets: %v", d.bases)
	}
}
