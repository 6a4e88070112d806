package callmodel

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

type scenario struct {
	name string
	cfg  Config
	msgs func(*wire) []ctilink.Message
}

var scenarios = []scenario{
	{"basic/A-only", controlled(lnA), basicCall},
	{"basic/B-only", controlled(lnB), basicCall},
	// B is in the control list but its line is not observed: its events
	// never come, A's observer sees it synthesized from RINGBACK on.
	{"basic/B-controlled-not-observed", controlled(lnA, lnB), only(lnA, basicCall)},
	{"basic/B-hangs-up-first", controlled(lnA, lnB), bHangsUpFirst},
	{"no-answer", controlled(lnA, lnB), noAnswer},
	{"busy", controlled(lnA, lnB), busy},
	{"busy/A-only", controlled(lnA), busy},
	{"hold-resume", controlled(lnA, lnB), holdResume},
	{"consult-transfer", controlled(lnA, lnB, lnC), consultTransfer},
	{"consult-transfer/A-only", controlled(lnA), consultTransfer},
	{"consult-transfer/C-uncontrolled", controlled(lnA, lnB), consultTransfer},
	{"consult-transfer/C-only", controlled(lnC), consultTransfer},
	{"blind-transfer", controlled(lnA, lnB, lnC), blindTransfer},
	{"conference", controlled(lnA, lnB, lnC), conference},
	{"route-redirect", controlled(lnA, lnR, lnD), routeRedirect},
	{"route-redirect/R-only", controlled(lnR), routeRedirect},
	{"route-timeout", controlled(lnA, lnR), routeTimeout},
	{"cti-port", controlled(lnA, lnP), ctiPort},
	{"transformation", controlled(lnA, lnB), transformation},
	{"transformation/B-only", controlled(lnB), transformation},
	{"callmanager-failure-in-setup", controlled(lnA, lnB), nodeFailureInSetup},
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			want, ok := scenarioWant[sc.name]
			if !ok {
				t.Fatalf("no expectation for %s", sc.name)
			}
			diff(t, want, run(t, sc.cfg, deliver(sc.cfg, sc.msgs(&wire{}))))
		})
	}
}

// only keeps the call-state events of line l.
func only(l line, f func(*wire) []ctilink.Message) func(*wire) []ctilink.Message {
	return func(w *wire) []ctilink.Message {
		return deliver(controlled(l), f(w))
	}
}
