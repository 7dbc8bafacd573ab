package sheval

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"raceroute/selftests/cases"
	"raceroute/selftests/extract/sh"
)

// recorder is a Hooks that records each command's words and answers
// with a check of its exit status; it reads no helper and no if.
type recorder struct{ cmds []string }

func (r *recorder) Record(no int, words []string) (Status, error) {
	r.cmds = append(r.cmds, strings.Join(words, " "))
	return Status{Chain: []Check{{Ref: StepRef{Idx: len(r.cmds) - 1}, Pred: cases.Want{Kind: cases.WantExit}, Exit: true}}}, nil
}
func (r *recorder) Builtin(int, string, []string) (bool, error) { return false, nil }
func (r *recorder) Command(int, string, []string) (bool, error) { return false, nil }
func (r *recorder) If(s *sh.If) (Ctl, error)                    { return 0, fmt.Errorf("no if here") }
func (r *recorder) Call(_ int, _ *sh.Function, args []string, run func([]string) error) error {
	return run(args)
}

// status renders a status as `static N` or the chain's refs and preds.
func status(st Status) string {
	if st.Static {
		return fmt.Sprintf("static %d", st.Code)
	}
	var parts []string
	for _, c := range st.Chain {
		parts = append(parts, fmt.Sprintf("#%d %s", c.Ref.Idx, c.Pred))
	}
	return strings.Join(parts, ", ")
}

// TestEvaluate runs statements through a recorder: commands are recorded
// with their words expanded, the script's own values are evaluated, and
// a test of a command's output or status is a check on its step.
func TestEvaluate(t *testing.T) {
	tests := []struct {
		stmts  []string
		cmds   []string
		status string
		err    string
	}{
		{[]string{`IP="ip -netns ns1"`, `$IP -6 ro add 2001:db8::/64 dev x`}, []string{"ip -netns ns1 -6 ro add 2001:db8::/64 dev x"}, "#0 0", ""},
		{[]string{`x=abc`, `[ "$x" = abc ]`}, nil, "static 0", ""},
		{[]string{`n=2`, `n=$((n + 3))`, `[ $n -eq 5 ]`}, nil, "static 0", ""},
		{[]string{`out=$(ip -6 ro ls)`, `[ -z "$out" ]`}, []string{"ip -6 ro ls"}, "#0 empty", ""},
		{[]string{`ip link set dev x up`, `rc=$?`, `[ $rc -ne 0 ]`}, []string{"ip link set dev x up"}, "#0 fail", ""},
		{[]string{`! ip -6 ro del 2001:db8::/64`}, []string{"ip -6 ro del 2001:db8::/64"}, "#0 fail", ""},
		{[]string{`v=$(ip -6 ro ls)`, `echo $v`}, nil, "", `t.sh:2: "$v": a run-time value in a command`},
		{[]string{`exit 1`}, nil, "", "t.sh:1: the script exits here (exit 1): not on a path a case can take"},
	}
	for _, tc := range tests {
		r := &recorder{}
		in := New(&sh.Script{Name: "t.sh", Funcs: map[string]*sh.Function{}}, r)
		var err error
		for i, s := range tc.stmts {
			if _, err = in.Simple(i+1, s); err != nil {
				break
			}
		}
		name := strings.Join(tc.stmts, "; ")
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(r.cmds, tc.cmds) {
			t.Errorf("%s: recorded %q, want %q", name, r.cmds, tc.cmds)
		}
		if got := status(in.St); got != tc.status {
			t.Errorf("%s: status %s, want %s", name, got, tc.status)
		}
	}
}

// TestCallFunction runs a script function through Hooks.Call with its
// arguments as $1...
func TestCallFunction(t *testing.T) {
	sc, err := sh.Parse("t.sh", "f()\n{\n\tlocal dev=$1\n\tip link set dev $dev up\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	in := New(sc, r)
	if err := in.CallFunction(9, sc.Funcs["f"], []string{"veth1"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ip link set dev veth1 up"}; !slices.Equal(r.cmds, want) {
		t.Errorf("recorded %q, want %q", r.cmds, want)
	}
	if _, ok := in.Globals["dev"]; ok {
		t.Error("a local leaked into the globals")
	}
}
