package profile

import "testing"

func TestParseRelease(t *testing.T) {
	tests := []struct {
		in    string
		garp  GARPRecognition // 0: unknown
		clone bool
	}{
		{"3.10.0-514.22.1.el7.x86_64", GARPNever, true},
		{"3.10.0-1160.108.1.el7.x86_64", GARPAlways, true},
		{"3.2.0-4-amd64", GARPNever, true},
		{"3.16.0-4-amd64", GARPRequestWithAccept, true},
		{"4.11.12", GARPRequestWithAccept, false},
		{"4.12.0", GARPAlways, false},
		{"4.18.0-513.el8.x86_64", GARPAlways, false},
		{"6.1.0-18-cloud-amd64", GARPAlways, false},
		{"", 0, true},
		{"banana", 0, true},
	}
	for _, tt := range tests {
		v := ParseRelease(tt.in)
		g, known := v.GARP()
		if !known {
			g = 0
		}
		if g != tt.garp || v.ClonesOnLookup() != tt.clone || known != (tt.garp != 0) || v.Known() != known {
			t.Errorf("%q: garp %v (known %v) clones %v, want %v %v", tt.in, g, known, v.ClonesOnLookup(), tt.garp, tt.clone)
		}
	}
}
