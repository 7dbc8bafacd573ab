// Package cli holds what raceroute's commands share: the exit statuses
// of the command line contract and the errors that choose them, argument
// checks, and reading --kernel.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"raceroute/check"
	"raceroute/live/host"
	"raceroute/profile"
)

// Exit statuses of the command line contract.
const (
	ExitOK       = 0 // every verdict matched its expectation
	ExitMismatch = 1 // some verdict did not match, or a command failed
	ExitBadInput = 2 // bad input: scenario, flag, file
)

// DefaultSeed seeds random and pct runs unless --seed says otherwise: the
// bare command and check use the same one, so that they print the same
// rates.
const DefaultSeed = 1

// BadInputError marks an error caused by the user's input (exit 2).
type BadInputError struct{ Err error }

func (e BadInputError) Error() string { return e.Err.Error() }
func (e BadInputError) Unwrap() error { return e.Err }

// BadInput wraps err so that the command exits with status 2.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	return BadInputError{err}
}

// MismatchError reports that verdicts did not match expectations (exit
// 1); the details have already been printed.
type MismatchError struct{ N int }

func (e MismatchError) Error() string {
	return fmt.Sprintf("%d verdict(s) did not match their expectation", e.N)
}

// ExitCode is the exit status of a command's error.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var mm MismatchError
	if errors.As(err, &mm) {
		return ExitMismatch
	}
	var bad BadInputError
	var input check.InputError
	if errors.As(err, &bad) || errors.As(err, &input) {
		return ExitBadInput
	}
	return ExitMismatch
}

// NoArgs refuses arguments with a usage error (exit 2).
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return BadInput(fmt.Errorf("%s takes no arguments (got %s)", cmd.CommandPath(), strings.Join(args, " ")))
	}
	return nil
}

// ExactArgs wants n arguments, described by what; anything else is a
// usage error (exit 2).
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return BadInput(fmt.Errorf("%s wants %s (got %d arguments); usage: %s", cmd.CommandPath(), what, len(args), cmd.UseLine()))
		}
		return nil
	}
}

// IsTerminal reports whether w is a terminal (progress lines go only
// there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ResolveKernel takes a profile name, a release string, or auto (the
// running kernel).
func ResolveKernel(s string) (profile.Profile, error) {
	if s == "auto" {
		return host.Profile()
	}
	return profile.Lookup(s)
}

// ResolveKernels reads --kernel: comma-separated profile names and
// release strings, auto, or all (the default).
func ResolveKernels(list []string) ([]profile.Profile, error) {
	if len(list) == 0 || len(list) == 1 && strings.TrimSpace(list[0]) == "all" {
		return profile.All(), nil
	}
	var out []profile.Profile
	for _, k := range list {
		p, err := ResolveKernel(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SplitKernels splits --kernel at commas outside brackets, so that
// "rhel-7.4[garp=never,confirmation=per-skb],linux-3.16" names two kernels.
func SplitKernels(s string) []string {
	var out []string
	depth, from := 0, 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[from:])
}

// KernelRelease turns --kernel of watch and replay-trace (a profile name,
// a release string or auto) into the release string the detectors match.
func KernelRelease(s string) (string, error) {
	p, err := ResolveKernel(s)
	if err != nil {
		return "", err
	}
	if len(p.Assumed) > 0 {
		return "", fmt.Errorf("%s: the detectors take a kernel, not assumptions about one", s)
	}
	return p.Release, nil
}
