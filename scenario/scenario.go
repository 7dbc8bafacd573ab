// Package scenario reads scenario files: YAML documents that state the
// hosts, initial tables, sysctls, actors, properties and expected verdicts
// per kernel profile of one race. It validates them, reports bad input
// with file, line and what was expected, and compiles a scenario for one
// variant and profile into an explore.Checker. The library/ directory is
// embedded and doubles as a regression suite. docs/scenarios.md is the
// reference of the format.
//
// The format is in three kinds of package: scenario/format holds what
// every file has (the header, variables, variants, expectations, the
// strict decoder, check settings), and one package per model holds that
// model's keys and their compilation (scenario/fib6file,
// scenario/neighfile). This package lists the models (models) and embeds
// the library; adding a model is adding its package and a line to models.
package scenario

import (
	"raceroute/scenario/fib6file"
	"raceroute/scenario/format"
	"raceroute/scenario/neighfile"
)

// The types of a scenario file, defined in package format.
type (
	// Scenario is a parsed, validated scenario file.
	Scenario = format.Scenario
	// Variant is one runnable version of a scenario.
	Variant = format.Variant
	// Error is a problem in a scenario file, with its position.
	Error = format.Error
	// Overrides are the check settings given on the command line.
	Overrides = format.Overrides
)

// DefaultBudget bounds one check when neither the command line nor the
// scenario's `check: budget:` says otherwise.
const DefaultBudget = format.DefaultBudget

// Refused is the expectation of a scenario the model refuses on a kernel.
const Refused = format.Refused

// models are the models a scenario file may name, in the order error
// messages list them.
func models() []format.Model {
	return []format.Model{fib6file.Model(), neighfile.Model()}
}

// Parse reads a scenario from data; source names it in errors. Every
// error is an *Error with the file and line.
func Parse(source string, data []byte) (*Scenario, error) {
	return format.Parse(source, data, models())
}

// Load reads a scenario file. Its Source is the file's absolute path, so
// that a replay token made from it works from any working directory.
func Load(path string) (*Scenario, error) {
	return format.Load(path, models())
}
