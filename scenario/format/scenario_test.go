package format

import (
	"errors"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
)

// toyDoc is the document of a test model with one key of its own.
type toyDoc struct {
	Header `yaml:",inline"`
	Items  []toyItem `yaml:"items"`
}

type toyItem struct {
	At   Pos   `yaml:"-"`
	Name Line  `yaml:"name"`
	Sub  *Line `yaml:"sub"`
}

// toyModel is a model called name whose compiler records the variants
// and profiles it is asked for, and refuses an item called "bad" at its
// position.
func toyModel(name string, compiled *[]string) Model {
	return Model{
		Name:   name,
		NewDoc: func() Doc { return new(toyDoc) },
		Compile: func(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error) {
			*compiled = append(*compiled, sc.Model+" "+sc.FullName(v)+" "+p.Name)
			for _, it := range sc.Doc().(*toyDoc).Items {
				text, err := sc.Expand(it.Name, v)
				if err != nil {
					return nil, err
				}
				if text == "bad" {
					return nil, sc.ErrorAt(it.Name, "item %s refused", text)
				}
			}
			return nil, nil
		},
	}
}

// Parse looks the model up in the table it is given: the messages list
// the table's names, a file of one model decodes into that model's
// document and is compiled by its compiler on every profile, and the
// compiler's errors reach the caller with their positions.
func TestParseModelTable(t *testing.T) {
	var compiled []string
	models := []Model{toyModel("a", &compiled), toyModel("b", &compiled), toyModel("c", &compiled)}
	good := "name: t\nmodel: b\nvars: {x: ok}\nitems: [{name: $x}]\nexpect: {\"*\": holds}\n"
	for _, tc := range []struct {
		name, data, err string
	}{
		{"missing model", "name: t\n", `f.yaml:1:1: missing ` + "`model:`" + ` (want model: a, model: b or model: c)`},
		{"unknown model", "name: t\nmodel: d\n", `f.yaml:2:8: unknown model "d" (want a, b or c)`},
		{"a key of no model", strings.Replace(good, "items:", "colour: red\nitems:", 1), `f.yaml:4:1: unknown field "colour" (known: name, model, description, seed, check, vars, variants, expect, items)`},
		{"the compiler's error", strings.Replace(good, "{x: ok}", "{x: bad}", 1), `f.yaml:4:16: item bad refused`},
		{"good", good, ""},
		// The model refuses on every profile: an expectation of refused
		// there is met, one on a profile where it accepts is an error.
		{"refused as expected", strings.Replace(strings.Replace(good, "{x: ok}", "{x: bad}", 1), `"*": holds`, `"*": refused`, 1), ""},
		{"refused expected but accepted", strings.Replace(good, `"*": holds`, `"*": refused`, 1), `f.yaml:5:10: scenario t expects the model to refuse it on linux-3.10 (rule *), but the model accepts it there`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compiled = nil
			sc, err := Parse("f.yaml", []byte(tc.data), models)
			if tc.err != "" {
				var se *Error
				if err == nil || !errors.As(err, &se) || err.Error() != tc.err {
					t.Fatalf("error %v, want *Error %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := sc.Doc().(*toyDoc); !ok || sc.Model != "b" {
				t.Fatalf("model %s, document %T", sc.Model, sc.Doc())
			}
			if len(compiled) != len(profile.All()) || compiled[0] != "b t "+profile.All()[0].Name {
				t.Fatalf("compiled %q, want model b once per profile", compiled)
			}
		})
	}
	if len(modelNames(models[:1], "")) != 1 || modelNames(models[:2], "") != "a or b" {
		t.Fatalf("names of one and two models: %q, %q", modelNames(models[:1], ""), modelNames(models[:2], ""))
	}
}

// Keys lists the keys of the header and of the model's types below it,
// each once, in file order.
func TestKeys(t *testing.T) {
	got := strings.Join(Keys(new(toyDoc)), " ")
	if want := "name model description seed check strategy horizon runs budget preemption-bound vars variants expect items sub"; got != want {
		t.Fatalf("keys %q, want %q", got, want)
	}
}
