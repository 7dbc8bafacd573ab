package cases

import (
	"fmt"
	"strings"
)

// Filter is a command after the first one of a step's pipeline, as far
// as the cases use them: `sed -e 's/TEXT//'` (TEXT deleted once per
// line) and `grep [-q] WORD` (the lines holding WORD; exit status 1 when
// none). Only plain text is understood: a pattern with a regular
// expression's special characters is refused.
type Filter struct {
	sed   bool
	text  string
	quiet bool
}

const specials = `.*[]^$\+?(){}|`

// ParseFilter reads one filter command.
func ParseFilter(w []string) (Filter, error) {
	switch {
	case len(w) == 3 && w[0] == "sed" && w[1] == "-e", len(w) == 2 && w[0] == "sed":
		e := w[len(w)-1]
		if strings.HasPrefix(e, "s/") && strings.HasSuffix(e, "//") && strings.Count(e, "/") == 3 {
			if t := e[2 : len(e)-2]; !strings.ContainsAny(t, specials) {
				return Filter{sed: true, text: t}, nil
			}
		}
	case len(w) == 2 && w[0] == "grep", len(w) == 3 && w[0] == "grep" && w[1] == "-q":
		if t := w[len(w)-1]; !strings.ContainsAny(t, specials) && t != "" {
			return Filter{text: t, quiet: len(w) == 3}, nil
		}
	}
	return Filter{}, fmt.Errorf("the filter %q is not understood (want sed -e 's/TEXT//' or grep [-q] WORD)", strings.Join(w, " "))
}

// IsSed reports whether f is a sed filter.
func (f Filter) IsSed() bool { return f.sed }

// Apply runs the filter on a command's output and returns its output and
// exit status.
func (f Filter) Apply(in string) (string, int) {
	lines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
	if in == "" {
		lines = nil
	}
	if f.sed {
		for i, l := range lines {
			lines[i] = strings.Replace(l, f.text, "", 1)
		}
		return joinLines(lines), 0
	}
	var kept []string
	for _, l := range lines {
		if strings.Contains(l, f.text) {
			kept = append(kept, l)
		}
	}
	status := 0
	if len(kept) == 0 {
		status = 1
	}
	if f.quiet {
		return "", status
	}
	return joinLines(kept), status
}

func joinLines(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// RunPipeline passes the first command's output and exit status through
// the filters, as a shell pipeline gives them: the last command's exit
// status.
func RunPipeline(filters []Filter, out string, exit int) (string, int) {
	for _, f := range filters {
		out, exit = f.Apply(out)
	}
	return out, exit
}
