// Package logging builds the root zerolog logger for the commands: JSON by
// default, human-readable console output when the output is a terminal.
// Only cmd/* call it; libraries receive the logger they are given.
package logging

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// Log formats.
const (
	FormatAuto    = "auto"    // console on a terminal, JSON otherwise
	FormatJSON    = "json"    // one JSON object a line
	FormatConsole = "console" // human-readable; coloured only on a terminal
)

// Config selects the log level and format.
type Config struct {
	// Level is trace, debug, info, warn or error.
	Level string
	// Format is FormatAuto (also the empty string), FormatJSON or
	// FormatConsole.
	Format string
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if _, err := zerolog.ParseLevel(c.Level); err != nil || c.Level == "" {
		errs = append(errs, fmt.Errorf("logging: Level %q is unknown: use trace, debug, info, warn or error", c.Level))
	}
	switch c.Format {
	case FormatAuto, "", FormatJSON, FormatConsole:
	default:
		errs = append(errs, fmt.Errorf("logging: Format %q is unknown: use auto, json or console", c.Format))
	}
	return errors.Join(errs...)
}

// New returns a logger writing to w at level ("debug", "info", ...) in
// format "json", "console" or "auto" (console when w is a terminal).
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	c := Config{Level: level, Format: format}
	if err := c.Validate(); err != nil {
		return zerolog.Nop(), err
	}
	lvl, _ := zerolog.ParseLevel(level)
	tty := isTerminal(w)
	if format == FormatConsole || (tty && (format == FormatAuto || format == "")) {
		w = ConsoleWriter(w)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// ConsoleWriter is zerolog's human-readable output on w, coloured only
// when w is a terminal and NO_COLOR (https://no-color.org) is not set, so
// that redirected output and files hold no ANSI escape codes.
func ConsoleWriter(w io.Writer) zerolog.ConsoleWriter {
	_, noColor := os.LookupEnv("NO_COLOR")
	return zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: noColor || !isTerminal(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
