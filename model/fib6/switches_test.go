package fib6_test

import (
	"slices"
	"testing"

	"raceroute/model/fib6"
	"raceroute/profile/profiletest"
)

// The model reads only the profile switches it declares.
func TestReadsOnlyDeclaredSwitches(t *testing.T) {
	for _, sw := range profiletest.SwitchesRead(t, ".", "route", "exception") {
		if !slices.Contains(fib6.Switches(), sw) && !slices.Contains(fib6.ExceptionSwitches(), sw) {
			t.Errorf("model/fib6 reads switch %s, which Switches() does not declare", sw)
		}
	}
}
