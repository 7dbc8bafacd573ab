package watch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"raceroute/iproute2"
)

func TestReplay(t *testing.T) {
	const (
		del  = "[2016-06-11T22:32:32.532755] [ROUTE]Deleted 2001:db8::/64 via fe80::1 dev eth0 proto bird metric 1024"
		add  = "[2016-06-11T22:32:32.532757] [ROUTE]2001:db8::/64 via fe80::2 dev eth1 proto bird metric 1024"
		junk = "this line is nonsense"
	)
	many := func(n int) []string {
		var ls []string
		for range n {
			ls = append(ls, junk)
		}
		return ls
	}
	tests := []struct {
		name    string
		lines   []string
		show    int
		want    Summary
		skipped []int  // the lines OnSkipped received
		err     string // an InputError saying this
	}{
		{"a change and a bad line", []string{del, junk, add}, 0, Summary{Records: 2, Lines: 3, Skipped: 1, Shown: 1, Findings: 1}, []int{2}, ""},
		{"bad lines before the first record, shown after it", []string{junk, junk, del, add}, 0, Summary{Records: 2, Lines: 4, Skipped: 2, Shown: 2, Findings: 1}, []int{1, 2}, ""},
		{"the first ShowSkipped shown", append(append([]string{junk, del}, many(3)...), add), 2, Summary{Records: 2, Lines: 6, Skipped: 4, Shown: 2, Findings: 1}, []int{1, 3}, ""},
		{"the first 20 by default", append([]string{del}, many(25)...), 0, Summary{Records: 1, Lines: 26, Skipped: 25, Shown: 20}, []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}, ""},
		{"empty", nil, 0, Summary{}, nil, "t.log is empty"},
		{"nothing but bad lines", many(30), 0, Summary{Lines: 30, Skipped: 30}, nil, `t.log: no ip monitor or raceroute watch record in it: 30 of its 30 lines are malformed (binary data, or another format?); the first: t.log:1: expected`},
		{"no record line", []string{"[NOTE]x", "[NOTE]y"}, 0, Summary{Lines: 2}, nil, "t.log: none of its 2 lines is a route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var skipped []int
			var fs []Finding
			s, err := Replay(context.Background(), strings.NewReader(strings.Join(tt.lines, "\n")), DefaultConfig(), ReplayOptions{
				Monitor:     iproute2.MonitorOptions{Name: "t.log"},
				OnFinding:   func(f Finding) error { fs = append(fs, f); return nil },
				OnSkipped:   func(le *iproute2.LineError) { skipped = append(skipped, le.Line) },
				ShowSkipped: tt.show,
			})
			var in *InputError
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("err %v", err)
			case tt.err != "" && (!errors.As(err, &in) || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err %v, want an InputError saying %q", err, tt.err)
			}
			if s != tt.want {
				t.Errorf("summary %+v, want %+v", s, tt.want)
			}
			if len(fs) != s.Findings || len(fs) > 0 && fs[0].Detector != DetectorNonAtomic {
				t.Errorf("findings %v", fs)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped lines passed on %v, want %v", skipped, tt.skipped)
			}
		})
	}
}

// A replay stops when its context is done, when OnFinding fails (with
// that error) and when the log cannot be read (an InputError).
func TestReplayStops(t *testing.T) {
	const (
		del = "[2016-06-11T22:32:32.532755] [ROUTE]Deleted 2001:db8::/64 via fe80::1 dev eth0 proto bird metric 1024"
		add = "[2016-06-11T22:32:32.532757] [ROUTE]2001:db8::/64 via fe80::2 dev eth1 proto bird metric 1024"
	)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Replay(canceled, strings.NewReader(del+"\n"+add), DefaultConfig(), ReplayOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err %v", err)
	}
	full := errors.New("disk full")
	s, err := Replay(context.Background(), strings.NewReader(del+"\n"+add), DefaultConfig(), ReplayOptions{OnFinding: func(Finding) error { return full }})
	var in *InputError
	if !errors.Is(err, full) || errors.As(err, &in) || s.Findings != 1 {
		t.Errorf("OnFinding failing: summary %+v, err %v", s, err)
	}
	long := io.MultiReader(strings.NewReader(del+"\n"), strings.NewReader(strings.Repeat("x", 2<<20)))
	if _, err := Replay(context.Background(), long, DefaultConfig(), ReplayOptions{}); !errors.As(err, &in) || !strings.Contains(err.Error(), "after line 1") {
		t.Errorf("a line too long: err %v, want an InputError", err)
	}
}

// FuzzReplayLog replays arbitrary logs: nothing panics, the summary
// adds up, and a log without a record is an InputError.
func FuzzReplayLog(f *testing.F) {
	for _, name := range []string{"testdata/seed-bad.log", "testdata/link-flap.log", "testdata/ip-monitor-overflow.log"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("nonsense\n\x00\xff\n[2016-06-11T22:30:00.100000] [NEIGH]10.0.0.7 dev eth0 lladdr fa:16:3e:00:00:01 STALE\nmore nonsense\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		var found, shown int
		s, err := Replay(context.Background(), bytes.NewReader(data), Config{KernelRelease: "3.10.0-514.el7"}, ReplayOptions{
			OnFinding: func(f Finding) error {
				if f.Detector == "" || f.Evidence == "" || f.Advice == "" {
					t.Fatalf("incomplete finding %+v", f)
				}
				found++
				return nil
			},
			OnSkipped: func(*iproute2.LineError) { shown++ },
		})
		var in *InputError
		switch {
		case s.Records == 0 && !errors.As(err, &in):
			t.Fatalf("no record, err %v", err)
		case s.Records > 0 && err != nil && !errors.As(err, &in):
			t.Fatalf("err %v", err)
		}
		if found != s.Findings || shown != s.Shown || s.Shown > DefaultShowSkipped || s.Shown > s.Skipped ||
			err == nil && s.Shown != min(s.Skipped, DefaultShowSkipped) {
			t.Fatalf("summary %+v, %d findings and %d skipped lines seen, err %v", s, found, shown, err)
		}
	})
}
