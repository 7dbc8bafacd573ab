// Package cases is the case format of raceroute's conformance suites: the
// cases of the kernel's own selftests (tools/testing/selftests/net),
// read mechanically from the scripts by package selftests/extract and
// committed as text files under this directory, one per suite and script
// version. A case names its script, version, test function and the
// script's own description; lists the commands it runs, each with the
// namespace it runs in and its script line; and says what the script
// asserts of each: an exit status, an exact route listing, a neighbour
// entry present or absent.
//
// The format (docs/selftests.md has the reference):
//
//	suite fib_tests
//	script tools/testing/selftests/net/fib_tests.sh
//	version 6.12.117
//	source Debian linux-source-6.12 (6.12.117-1~deb12u1)
//	exact yes
//	covers 6.12-7.1
//	note the text of a note
//
//	env route_setup 1050
//	  1053 netns ns1
//	  1072 setup ns1: ip -6 addr add 2001:db8:101::1/64 dev veth1 nodad
//
//	case ipv6_rt_add#1 ipv6_rt 1100 "Attempt to add duplicate route - gw"
//	  1098 setup ns1: ip -6 ro flush 2001:db8:104::/64
//	  1099 test ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:103::2 => 2  # RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL
//
// The package holds no model and touches no kernel: the models' runner
// (package selftests) and the live runner (live/kselftest) both read it.
package cases

import (
	"fmt"
	"strings"
)

// File is one suite's cases at one script version.
type File struct {
	// Name is where the file was read from, for messages.
	Name string
	// Suite names the script without its extension: fib_tests.
	Suite string
	// Script is the script's path in the kernel tree.
	Script string
	// Version is the script version the cases were read from: a
	// kernel tag (v5.6) or a stable point release (6.12.117).
	Version string
	// Source says where the script's text came from.
	Source string
	// Exact is true when the text read is the file as shipped; false for
	// an excerpt assembled from evidence (see Notes).
	Exact bool
	// Covers lists the mainline release lines whose script this version
	// stands for.
	Covers []Range
	// Notes say what the version rests on and what differs nearby.
	Notes []string
	// Envs are the environments (the script's set-up functions) that
	// cases start from.
	Envs []Env
	// Cases are in the order the script runs them.
	Cases []Case
}

// Line is a kernel release line, major.minor.
type Line struct{ Major, Minor int }

func (l Line) String() string { return fmt.Sprintf("%d.%d", l.Major, l.Minor) }

// Less orders lines.
func (l Line) Less(m Line) bool {
	return l.Major < m.Major || l.Major == m.Major && l.Minor < m.Minor
}

// Range is the lines From to To, both included.
type Range struct{ From, To Line }

// Contains reports whether l is in r.
func (r Range) Contains(l Line) bool { return !l.Less(r.From) && !r.To.Less(l) }

func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// CoversLine reports whether the file's script is line l's.
func (f *File) CoversLine(l Line) bool {
	for _, r := range f.Covers {
		if r.Contains(l) {
			return true
		}
	}
	return false
}

// Env is one of the script's set-up functions, as the steps it runs.
type Env struct {
	Name  string
	Line  int // where the function starts
	Steps []Step
}

// Env returns the environment called name.
func (f *File) Env(name string) (*Env, bool) {
	for i := range f.Envs {
		if f.Envs[i].Name == name {
			return &f.Envs[i], true
		}
	}
	return nil, false
}

// Case is one assertion of the script (one log_test, one [ OK ]/[FAIL]
// report) with the steps run since the previous one.
type Case struct {
	// Func is the script's test function, N the case's number among its
	// cases (from 1).
	Func string
	N    int
	// Group is the script's name for the test (its TESTS word).
	Group string
	// Desc is the script's own description of the case.
	Desc string
	// Line is the line of the assertion.
	Line int
	// Vacuous, when set, says why the script's assertion cannot fail
	// (or cannot pass) whatever the kernel does: its steps then assert
	// nothing.
	Vacuous string
	Steps   []Step
}

// ID names the case within its file: ipv6_rt_add#1.
func (c *Case) ID() string { return fmt.Sprintf("%s#%d", c.Func, c.N) }

// Role is what a step is to its case.
type Role uint8

// Step roles.
const (
	// RoleEnv starts from a fresh environment (Step.Env): every
	// namespace of the run is gone, and the environment's steps run.
	RoleEnv Role = iota + 1
	// RoleNetns creates the namespace Step.NS (a fresh one if it exists).
	RoleNetns
	// RoleSetup must succeed (and meet its Want, when it has one): the
	// script aborts otherwise.
	RoleSetup
	// RoleDo runs; the script ignores its exit status.
	RoleDo
	// RoleTest is what the script asserts: its Want must hold.
	RoleTest
)

var roleNames = [...]string{RoleEnv: "env", RoleNetns: "netns", RoleSetup: "setup", RoleDo: "do", RoleTest: "test"}

func (r Role) String() string {
	if int(r) < len(roleNames) && roleNames[r] != "" {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", r)
}

// Step is one command of a case or an environment.
type Step struct {
	Line int
	Role Role
	// Env names the environment of a RoleEnv step.
	Env string
	// NS is the namespace a command runs in, as the script names it; ""
	// is the namespace the script itself runs in.
	NS string
	// Cmd is the command in shell words, after the script's variables
	// were expanded; a pipeline's commands are separated by "|".
	Cmd string
	// Want is what the step's result must be; the zero Want asks nothing.
	Want Want
}

// WantKind is what a step's result is compared with.
type WantKind uint8

// Kinds of wants.
const (
	WantNone     WantKind = iota
	WantExit              // the exit status is Want.Exit
	WantFail              // the exit status is not 0
	WantEqual             // the output, as check_expected compares it, is Want.Text
	WantEmpty             // the output is empty
	WantNonEmpty          // the output is not empty
)

// Want is what a step's result must be.
type Want struct {
	Kind WantKind
	Exit int
	Text string
}

func (w Want) String() string {
	switch w.Kind {
	case WantExit:
		return fmt.Sprint(w.Exit)
	case WantFail:
		return "fail"
	case WantEqual:
		return "= " + quote(w.Text)
	case WantEmpty:
		return "empty"
	case WantNonEmpty:
		return "nonempty"
	}
	return ""
}

// Words splits the step's command into words (double and single quotes
// group, as the shell does; no expansion is left to do).
func (s *Step) Words() ([]string, error) { return SplitWords(s.Cmd) }

// Pipeline splits the step's command at "|" into its commands' words.
func (s *Step) Pipeline() ([][]string, error) {
	w, err := s.Words()
	if err != nil {
		return nil, err
	}
	var out [][]string
	cur := []string{}
	for _, x := range w {
		if x == "|" {
			out = append(out, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, x)
	}
	return append(out, cur), nil
}

// SplitWords splits s into shell words: blanks separate words, double or
// single quotes group (without escapes inside single quotes; \" and \\
// inside double quotes), and a "|" outside quotes is a word of its own.
func SplitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, started := byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in == '\'':
			if c == '\'' {
				in = 0
			} else {
				cur.WriteByte(c)
			}
		case in == '"':
			switch {
			case c == '"':
				in = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			in, started = c, true
		case c == ' ' || c == '\t':
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		case c == '|':
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
			out = append(out, "|")
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if in != 0 {
		return nil, fmt.Errorf("command %q: unterminated %c quote", s, in)
	}
	if started {
		out = append(out, cur.String())
	}
	return out, nil
}

// JoinWords renders words as SplitWords reads them back: a word with a
// blank, a quote, a "|" or nothing at all is quoted.
func JoinWords(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = quoteWord(w)
	}
	return strings.Join(parts, " ")
}

func quoteWord(w string) string {
	if w == "|" {
		return w
	}
	if w != "" && !strings.ContainsAny(w, " \t'\"|\\") {
		return w
	}
	if !strings.Contains(w, "'") {
		return "'" + w + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}

// Flags names the netlink request a command sends, for the reader: an
// iproute2 route verb's message type and NLM_F_* flags (add =
// CREATE|EXCL, append = CREATE|APPEND, prepend = CREATE, replace =
// CREATE|REPLACE, change = REPLACE, as ip/iproute.c sets them); "" for
// anything else.
func Flags(cmd string) string {
	w, err := SplitWords(cmd)
	if err != nil {
		return ""
	}
	obj, verb, ok := ipObjectVerb(w)
	if !ok {
		return ""
	}
	switch obj {
	case "route":
		switch verb {
		case "add":
			return "RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL"
		case "append":
			return "RTM_NEWROUTE NLM_F_CREATE|NLM_F_APPEND"
		case "prepend":
			return "RTM_NEWROUTE NLM_F_CREATE"
		case "replace":
			return "RTM_NEWROUTE NLM_F_CREATE|NLM_F_REPLACE"
		case "change":
			return "RTM_NEWROUTE NLM_F_REPLACE"
		case "delete":
			return "RTM_DELROUTE"
		case "flush":
			return "RTM_GETROUTE dump, then RTM_DELROUTE each"
		}
	case "address":
		switch verb {
		case "add":
			return "RTM_NEWADDR NLM_F_CREATE|NLM_F_EXCL"
		case "change":
			return "RTM_NEWADDR NLM_F_REPLACE"
		case "replace":
			return "RTM_NEWADDR NLM_F_CREATE|NLM_F_REPLACE"
		case "delete":
			return "RTM_DELADDR"
		case "flush":
			return "RTM_GETADDR dump, then RTM_DELADDR each"
		}
	case "link":
		switch verb {
		case "delete":
			return "RTM_DELLINK"
		case "set":
			return "RTM_NEWLINK"
		}
	}
	return ""
}

// ipObjectVerb reads `ip [OPTIONS] OBJECT VERB ...` with iproute2's
// abbreviations, returning the object and verb in full (route, address,
// link, neighbour; add, append, delete ...).
func ipObjectVerb(w []string) (obj, verb string, ok bool) {
	if len(w) == 0 || w[0] != "ip" {
		return "", "", false
	}
	i := 1
	for i < len(w) && strings.HasPrefix(w[i], "-") {
		switch w[i] {
		case "-netns", "-n", "-family", "-f", "-b", "-batch", "-rc", "-rcvbuf":
			i++
		}
		i++
	}
	if i+1 >= len(w) {
		return "", "", false
	}
	obj, ok = Abbrev(w[i], "route", "address", "link", "neighbour", "rule", "netns", "monitor")
	if !ok {
		return "", "", false
	}
	verb, ok = Abbrev(w[i+1], "add", "append", "prepend", "replace", "change", "delete", "flush", "get", "list", "show", "set")
	return obj, verb, ok
}

// Abbrev resolves a word as iproute2's matches() does: the first of
// names (in iproute2's own order) that the word is a prefix of.
func Abbrev(word string, names ...string) (string, bool) {
	if word == "" {
		return "", false
	}
	if word == "neigh" || word == "neighbor" {
		return "neighbour", true
	}
	if word == "ls" || word == "lst" {
		return "list", true
	}
	for _, n := range names {
		if strings.HasPrefix(n, word) {
			return n, true
		}
	}
	return "", false
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Met reports whether a step that exited with status exit and printed
// out meets w, as the scripts compare: check_expected takes the output
// as it is or with its blanks collapsed (`out=$(echo ${out})`).
func (w Want) Met(exit int, out string) bool {
	switch w.Kind {
	case WantNone:
		return true
	case WantExit:
		return exit == w.Exit
	case WantFail:
		return exit != 0
	case WantEqual:
		return out == w.Text || out != "" && Collapse(out) == w.Text
	case WantEmpty:
		return out == ""
	case WantNonEmpty:
		return out != ""
	}
	return false
}

// Collapse joins the words of s with single blanks, as `echo ${out}`.
func Collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Output is what a command's output means to the scripts: the text a
// command substitution keeps ($(...) drops the trailing newlines).
func Output(stdout string) string { return strings.TrimRight(stdout, "\n") }
