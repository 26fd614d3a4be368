package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// command is the flag set of one subcommand and its usage text. Its help
// (-h, --help) goes to standard output and exits 0, like any other output
// that was asked for; a bad flag prints the usage to standard error and
// exits 2.
type command struct {
	*flag.FlagSet
	usage string
}

func newCommand(name, usage string, stderr io.Writer) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr) // where the flag package writes a parse error
	fs.Usage = func() {} // parse prints the usage itself, to the right stream
	return &command{FlagSet: fs, usage: usage}
}

// parse parses args; code is -1 to go on, otherwise the exit status.
func (c *command) parse(args []string, stdout, stderr io.Writer) (code int) {
	err := c.Parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(stdout)
		return 0
	default:
		c.printUsage(stderr)
		return 2
	}
}

// printUsage writes the usage text, then each flag as the documentation
// spells it, with two dashes.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprint(w, c.usage)
	c.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(help, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// logFlags are --log-level and --log-format, shared by the commands that
// run a server.
type logFlags struct {
	level  slog.Level
	format string
}

// register adds the flags; format is the default --log-format: json for
// the controller, whose logs a cluster collects, text for standalone,
// read in a terminal.
func (l *logFlags) register(c *command, format string) {
	c.TextVar(&l.level, "log-level", slog.LevelInfo, "the least `level` logged: debug, info, warn or error")
	c.StringVar(&l.format, "log-format", format, "the `format` of the log lines on standard error: text (key=value) or json")
}

// validate refuses a --log-format the logger cannot write.
func (l *logFlags) validate() error {
	if l.format != "text" && l.format != "json" {
		return fmt.Errorf("--log-format %q: want text or json", l.format)
	}
	return nil
}

// logger returns the logger the flags ask for, writing to w.
func (l *logFlags) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.level}
	if l.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
