package schema

import (
	"slices"
	"testing"
)

func TestQ850Mapping(t *testing.T) {
	for _, tc := range []struct {
		q, cause, cc int
		failure      bool
	}{
		{0, CauseNormal, 0, false}, {16, CauseNormal, 0, false},
		{17, CauseNormal, CCCauseBusy, true},
		{19, CauseNormal, CCCauseCallNotAnswered, false},
		{1, CauseDestNotObtainable, 0, true},
		{41, CauseNetworkNotObtainable, 0, true},
		{99, CauseUnknown, 0, false},
	} {
		c, cc, f := MapQ850(tc.q)
		if c != tc.cause || cc != tc.cc || f != tc.failure {
			t.Errorf("MapQ850(%d) = %d, %d, %v", tc.q, c, cc, f)
		}
	}
	for code, want := range map[int][]int{
		CCCauseBusy: {17}, CCCauseCallNotAnswered: {18, 19}, CauseNormal: {0, 16},
		CauseNetworkNotObtainable: {38, 41}, CCCauseTransfer: nil, CauseUnknown: nil,
	} {
		if got := Q850For(code); !slices.Equal(got, want) {
			t.Errorf("Q850For(%d) = %v, want %v", code, got, want)
		}
	}
	// Every value mapped has a name, and the inverse finds it again.
	for _, m := range Q850Mappings {
		for _, q := range m.Q850 {
			if Q850Names[q] == "" {
				t.Errorf("Q.850 %d has no name", q)
			}
			code := m.CallControlCause
			if code == 0 {
				code = m.Cause
			}
			if !slices.Contains(Q850For(code), q) {
				t.Errorf("Q850For(%d) misses %d", code, q)
			}
		}
	}
}
