package scenario

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario/format"
)

// reference is docs/scenarios.md, the format's reference.
const reference = "../docs/scenarios.md"

// yamlBlock is a ```yaml block of the reference, with the line of its
// first line.
type yamlBlock struct {
	line int
	text string
}

func yamlBlocks(t *testing.T) []yamlBlock {
	t.Helper()
	data, err := os.ReadFile(reference)
	if err != nil {
		t.Fatal(err)
	}
	var out []yamlBlock
	var cur *yamlBlock
	indent := ""
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```yaml":
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
			cur = &yamlBlock{line: i + 2}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: a ```yaml block without its end", reference, cur.line-1)
	}
	return out
}

// Every YAML block of the reference is YAML, and every block marked
// `# example: complete` is a scenario that parses and gives the verdict it
// expects for every variant on every kernel profile; there is one of each
// model.
func TestReferenceExamples(t *testing.T) {
	examples := map[string]int{}
	for _, b := range yamlBlocks(t) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(b.text), &n); err != nil {
			t.Errorf("%s:%d: not YAML: %v", reference, b.line, err)
			continue
		}
		if !strings.Contains(b.text, "\n# example: complete\n") && !strings.HasPrefix(b.text, "# example: complete\n") {
			continue
		}
		sc, err := Parse(fmt.Sprintf("%s (the example at line %d)", reference, b.line), []byte(b.text))
		if err != nil {
			t.Error(err)
			continue
		}
		examples[sc.Model]++
		for _, v := range sc.Variants {
			for _, p := range examplesProfiles(sc) {
				c, err := sc.Compile(v, p)
				if err != nil {
					t.Fatal(err)
				}
				o := explore.DefaultOptions()
				if sc.Check.Horizon.D > 0 {
					o.Horizon = sc.Check.Horizon.Millis()
				}
				res := c.Check(context.Background(), o)
				want, _, err := v.Expected(p)
				if err != nil {
					t.Fatal(err)
				}
				if res.Verdict != want || (want == explore.Holds && !res.Exhaustive) {
					t.Errorf("%s:%d: %s on %s: %s (exhaustive %v), the example expects %s", reference, b.line, sc.FullName(v), p.Name, res.Verdict, res.Exhaustive, want)
				}
			}
		}
	}
	for _, m := range models() {
		if examples[m.Name] == 0 {
			t.Errorf("%s has no complete example of model %s", reference, m.Name)
		}
	}
}

// The reference names every key the decoder accepts and every word a
// value may be, so that it cannot fall behind the code.
func TestReferenceNamesEveryKey(t *testing.T) {
	data, err := os.ReadFile(reference)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	keys := map[string]bool{}
	words := map[string][]string{}
	for _, m := range models() {
		for _, k := range format.Keys(m.NewDoc()) {
			if !keys[k] {
				keys[k] = true
				words["key"] = append(words["key"], k)
			}
		}
		for kind, list := range m.Words {
			words[kind] = append(words[kind], list...)
		}
	}
	if len(keys) < 50 {
		t.Fatalf("only %d keys found: the walk is broken", len(keys))
	}
	words["switch"] = profile.Switches()
	words["value"] = append(words["value"], "dfs", "random", "pct", "holds", "violated", "unknown")
	for kind, list := range words {
		for _, w := range list {
			if !strings.Contains(doc, "`"+w+"`") {
				t.Errorf("%s does not name the %s `%s`", reference, kind, w)
			}
		}
	}
}

// examplesProfiles is one runnable profile per distinct setting of the
// switches sc depends on: what the library's kernels give it.
func examplesProfiles(sc *Scenario) []profile.Profile {
	seen := map[string]bool{}
	var out []profile.Profile
	for _, p := range profile.All() {
		for _, q := range p.Resolve(sc.Switches()) {
			key := ""
			for _, sw := range sc.Switches() {
				st, _ := q.Setting(sw)
				key += sw + "=" + st.Value + ","
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, q)
			}
		}
	}
	return out
}
