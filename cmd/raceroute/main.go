// Command raceroute reproduces, proves, detects and prevents the kernel
// route and neighbour races that network agents run into.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit statuses of the command line contract.
const (
	exitOK       = 0 // every verdict matched its expectation
	exitMismatch = 1 // some verdict did not match, or a command failed
	exitBadInput = 2 // bad input: scenario, flag, file
)

// badInputError marks an error caused by the user's input (exit 2).
type badInputError struct{ err error }

func (e badInputError) Error() string { return e.err.Error() }
func (e badInputError) Unwrap() error { return e.err }

// badInput wraps err so that main exits with status 2.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return badInputError{err}
}

// mismatchError reports that verdicts did not match expectations (exit 1);
// the details have already been printed.
type mismatchError struct{ n int }

func (e mismatchError) Error() string {
	return fmt.Sprintf("%d verdict(s) did not match their expectation", e.n)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var mm mismatchError
	if errors.As(err, &mm) {
		fmt.Fprintln(stderr, "raceroute:", err)
		return exitMismatch
	}
	fmt.Fprintln(stderr, "raceroute:", err)
	var bad badInputError
	if errors.As(err, &bad) {
		return exitBadInput
	}
	return exitMismatch
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "raceroute",
		Short: "Reproduce, prove, detect and prevent kernel route and neighbour races",
		Long: `raceroute runs executable, version-exact models of the Linux kernel's
IPv6 routing table and neighbour tables against the orderings and timings
of concurrent actors (routing daemons, packet flows, ARP senders, kernel
timers), proves which update strategies are safe on which kernels, and
watches live hosts for the same failures.

With no arguments it checks the whole embedded scenario library on every
kernel profile and prints a matrix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd, nil, defaultCheckOptions(true))
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	root.AddCommand(
		newCheckCmd(),
		newScenariosCmd(),
		newKernelsCmd(),
		newReplayCmd(),
		newReplayTraceCmd(),
		newWatchCmd(),
	)
	return root
}
