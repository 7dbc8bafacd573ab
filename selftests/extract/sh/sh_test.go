package sh

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSplitRaw(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{`ip -6 ro add "a b" $(x y) | grep -q c && d 2>&1 >/dev/null || e`,
			[]string{"ip", "-6", "ro", "add", `"a b"`, "$(x y)", "|", "grep", "-q", "c", "&&", "d", "2>&1", ">", "/dev/null", "||", "e"}, ""},
		{`echo 'x"y' ; z`, []string{"echo", `'x"y'`, ";", "z"}, ""},
		{`a $(b`, nil, `unterminated $( in "a $(b"`},
	}
	for _, tc := range tests {
		got, err := SplitRaw(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// show renders statements as `line:text` and `if line [conds] {...}`.
func show(b []Stmt) string {
	var parts []string
	for _, s := range b {
		switch s := s.(type) {
		case *Simple:
			parts = append(parts, fmt.Sprintf("%d:%s", s.No, s.Text))
		case *If:
			var bodies []string
			for _, x := range s.Bodies {
				bodies = append(bodies, "{"+show(x)+"}")
			}
			parts = append(parts, fmt.Sprintf("if %d %q %s", s.No, s.Conds, strings.Join(bodies, " ")))
		}
	}
	return strings.Join(parts, "; ")
}

// TestParse reads a script's globals and functions, an if with elif and
// else, `;` and continuation lines, and refuses a loop naming its line.
func TestParse(t *testing.T) {
	text := "X=1\nf()\n{\n\tif a; then\n\t\tb; c\n\telif d\n\tthen e\n\telse\n\t\tg \\\n\t\th\n\tfi\n}\nl()\n{\n\tfor i in 1 2; do\n\t\tx\n\tdone\n}\n"
	sc, err := Parse("t.sh", text)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Globals) != 1 || sc.Globals[0] != (Line{No: 1, Text: "X=1"}) {
		t.Errorf("globals %+v", sc.Globals)
	}
	f := sc.Funcs["f"]
	if f == nil || f.Line != 2 {
		t.Fatalf("function f: %+v", f)
	}
	b, err := ParseBody(sc.Name, f.Lines)
	if err != nil {
		t.Fatal(err)
	}
	want := `if 4 ["a" "d"] {5:b; 5:c} {7:e} {9:g  		h}`
	if got := show(b); got != want {
		t.Errorf("f's body\n%s\nwant\n%s", got, want)
	}
	l := sc.Funcs["l"]
	if l == nil {
		t.Fatal("no function l")
	}
	_, err = ParseBody(sc.Name, l.Lines)
	if want := `t.sh:15: for loops are not supported by the extractor: "for i in 1 2"`; err == nil || err.Error() != want {
		t.Errorf("l: error %v, want %q", err, want)
	}
}

// FuzzParse: any text gives a script or an error naming the file, and
// every function's body parses or fails naming the file; never a panic.
func FuzzParse(f *testing.F) {
	f.Add("X=1\nf()\n{\n\tif a; then\n\t\tb; c\n\telif d\n\tthen e\n\telse\n\t\tg\n\tfi\n}\n")
	f.Add("f() {\n\ta && b || c\n\tfor x; do :; done\n}\n")
	f.Add("f()\n{\n\tif a\n}\n")
	f.Fuzz(func(t *testing.T, text string) {
		sc, err := Parse("fuzz.sh", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.sh:") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, fn := range sc.Funcs {
			b, err := ParseBody(sc.Name, fn.Lines)
			if err != nil && !strings.HasPrefix(err.Error(), "fuzz.sh:") {
				t.Errorf("%s: error %q does not name the file", fn.Name, err)
			}
			for _, s := range b {
				if s.LineNo() < 1 {
					t.Errorf("%s: a statement at line %d", fn.Name, s.LineNo())
				}
			}
		}
	})
}
