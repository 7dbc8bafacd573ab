package format

import (
	"reflect"
	"regexp"
)

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// checkVars refuses variables with names no reference can spell and
// variables no value of the model part uses (a misspelt name in a variant
// would otherwise change nothing, silently).
func (sc *Scenario) checkVars() error {
	used := map[string]bool{}
	collectRefs(reflect.ValueOf(sc.doc).Elem(), used)
	lists := []Pairs{sc.Vars}
	for _, vs := range sc.Header.Variants {
		lists = append(lists, vs.Vars)
	}
	for _, vars := range lists {
		for _, p := range vars.List {
			name := p.Key.Text
			switch {
			case !varName.MatchString(name):
				return sc.Errorf(p.Key.Pos(), "variable name %q: want letters, digits, _ and - (starting with a letter or _)", name)
			case !used[name]:
				return sc.Errorf(p.Key.Pos(), "variable %s is set but no value uses $%s", name, name)
			}
		}
	}
	return nil
}

// collectRefs adds the variables referenced by the Lines in v (the model
// part of a document: Header is skipped, its values are not expanded).
func collectRefs(v reflect.Value, used map[string]bool) {
	switch v.Type() {
	case lineType:
		for _, m := range varRef.FindAllStringSubmatch(v.Interface().(Line).Text, -1) {
			used[m[1]] = true
		}
		return
	case reflect.TypeFor[Header]():
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			collectRefs(v.Elem(), used)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			collectRefs(v.Index(i), used)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			collectRefs(v.Field(i), used)
		}
	}
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_-]*)\}?`)

// Expand replaces $name and ${name} in l by the variant's values; an
// unknown variable is an error at l.
func (sc *Scenario) Expand(l Line, v Variant) (string, error) {
	var missing string
	out := varRef.ReplaceAllStringFunc(l.Text, func(m string) string {
		name := varRef.FindStringSubmatch(m)[1]
		if val, ok := v.Vars[name]; ok {
			return val
		}
		missing = name
		return m
	})
	if missing != "" {
		return "", sc.ErrorAt(l, "unknown variable $%s (define it under `vars:` or in the variant)", missing)
	}
	return out, nil
}
