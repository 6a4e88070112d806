package ctiengine

import (
	"fmt"

	"github.com/rs/zerolog"
)

// Protocol-error logging bounds: a CTIManager (or something posing as one)
// sending a flood of unusable frames must not flood the log. The first
// protoLogFirst of a link are logged in full, then one line per
// protoLogEvery with the running count; Status().Counters.ProtocolErrors
// counts them all.
const (
	protoLogFirst = 10
	protoLogEvery = 1000
)

// protocolError counts an unusable or unexpected frame and logs it within
// the bounds above.
func (m *Machine) protocolError(msg string, err error) {
	m.stats.ProtocolErrors++
	m.linkProtoErrs++
	switch {
	case m.linkProtoErrs <= protoLogFirst:
		m.note(zerolog.WarnLevel, msg, err)
	case m.linkProtoErrs%protoLogEvery == 0:
		m.note(zerolog.WarnLevel, fmt.Sprintf("%s (%d unusable or unexpected frames on this link so far; the first %d and every %dth are logged)",
			msg, m.linkProtoErrs, protoLogFirst, protoLogEvery), err)
	}
}
