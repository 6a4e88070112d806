package ctiengine

import (
	"strconv"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// ProviderState is the JTAPI provider state. Values are JTAPI's.
//
//	OUT_OF_SERVICE ──(open completed, device list known, devices opened)──▶ IN_SERVICE
//	IN_SERVICE ──(CTIManager lost)──▶ OUT_OF_SERVICE
//	any ──(Close, retries exhausted, certificate compromised, login refused)──▶ SHUTDOWN (final)
type ProviderState int

// Provider states.
const (
	ProviderOutOfService ProviderState = schema.ProviderOutOfService
	ProviderInService    ProviderState = schema.ProviderInService
	ProviderShutdown     ProviderState = schema.ProviderShutdown
)

func (s ProviderState) String() string {
	switch s {
	case ProviderOutOfService:
		return "OUT_OF_SERVICE"
	case ProviderInService:
		return "IN_SERVICE"
	case ProviderShutdown:
		return "SHUTDOWN"
	}
	return "ProviderState(" + strconv.Itoa(int(s)) + ")"
}

// LinkState is the state of the link to the current CTIManager. The normal
// path is Idle → Connecting → Opening → AwaitingOpenCompleted →
// FetchingDevices → OpeningDevices → Snapshotting → Up; any failure goes to
// the next CTIManager (Connecting) or, after a failed round over the list,
// to WaitingRetry. Closing is the orderly ProviderCloseRequest exchange
// (Close, fallback); Stopped is final.
type LinkState int

// Link states. Values are stable (they appear in status output).
const (
	// LinkIdle: no link, nothing in progress (before Start).
	LinkIdle LinkState = 0
	// LinkConnecting: TCP (and TLS) connect in progress.
	LinkConnecting LinkState = 1
	// LinkOpening: ProviderOpenRequest sent, awaiting ProviderOpenResponse.
	LinkOpening LinkState = 2
	// LinkAwaitingOpenCompleted: heartbeats negotiated, awaiting the login
	// outcome (ProviderOpenCompleted).
	LinkAwaitingOpenCompleted LinkState = 3
	// LinkFetchingDevices: DeviceListRequest sent, collecting pages.
	LinkFetchingDevices LinkState = 4
	// LinkOpeningDevices: device/line opens and CTI port / route point
	// registrations in flight.
	LinkOpeningDevices LinkState = 5
	// LinkSnapshotting: provider in service, snapshots in flight.
	LinkSnapshotting LinkState = 6
	// LinkUp: fully established.
	LinkUp LinkState = 7
	// LinkWaitingRetry: a round over the list failed; waiting
	// ProviderRetryInterval.
	LinkWaitingRetry LinkState = 8
	// LinkClosing: ProviderCloseRequest sent, awaiting ProviderClosed.
	LinkClosing LinkState = 9
	// LinkStopped: the provider is shut down.
	LinkStopped LinkState = 10
)

var linkStateNames = [...]string{"idle", "connecting", "opening", "awaiting_open_completed", "fetching_devices",
	"opening_devices", "snapshotting", "up", "waiting_retry", "closing", "stopped"}

func (s LinkState) String() string {
	if s >= 0 && int(s) < len(linkStateNames) {
		return linkStateNames[s]
	}
	return "LinkState(" + strconv.Itoa(int(s)) + ")"
}

// established reports whether the provider open has been answered on the
// current link (heartbeats run).
func (s LinkState) established() bool {
	switch s {
	case LinkAwaitingOpenCompleted, LinkFetchingDevices, LinkOpeningDevices, LinkSnapshotting, LinkUp, LinkClosing:
		return true
	}
	return false
}

// TimerID names one of the machine's timers. Each is armed at most once at
// a time; re-arming replaces the deadline.
type TimerID int

// Timers.
const (
	// TimerHeartbeatRecv: 2 × server heartbeat after the last inbound frame.
	TimerHeartbeatRecv TimerID = iota
	// TimerHeartbeatSend: client heartbeat interval after the last outbound frame.
	TimerHeartbeatSend
	// TimerPhase: the open (ProviderOpenRequestTimeout) or the device list
	// (CtiRequestTimeout per page).
	TimerPhase
	// TimerRequest: the oldest pipelined request (CtiRequestTimeout).
	TimerRequest
	// TimerRetry: ProviderRetryInterval between rounds.
	TimerRetry
	// TimerProbe: probe normal CTIManagers while on the least-priority one.
	TimerProbe
	// TimerFallback: FallbackInitiationTime after a normal one is reachable.
	TimerFallback
	// TimerClose: bound on waiting for ProviderClosed.
	TimerClose
	// TimerRecovery: RouteSelectTimeout after a gap closed with calls at
	// route points still waiting for their recovery (gap.go).
	TimerRecovery
	numTimers
)

var timerNames = [...]string{"heartbeat_recv", "heartbeat_send", "phase", "request", "retry", "probe", "fallback", "close",
	"recovery"}

func (t TimerID) String() string {
	if t >= 0 && int(t) < len(timerNames) {
		return timerNames[t]
	}
	return "TimerID(" + strconv.Itoa(int(t)) + ")"
}
