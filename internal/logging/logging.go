// Package logging builds the root zerolog logger for the commands: JSON by
// default, human-readable console output when the output is a terminal.
// Only cmd/* call it; libraries receive the logger they are given.
package logging

import (
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// New returns a logger writing to w at level ("debug", "info", ...) in
// format "json", "console" or "auto" (console when w is a terminal).
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("logging: level %q: use debug, info, warn or error", level)
	}
	console := false
	switch format {
	case "console":
		console = true
	case "json":
	case "auto", "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			console = true
		}
	default:
		return zerolog.Nop(), fmt.Errorf("logging: format %q: use auto, json or console", format)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
