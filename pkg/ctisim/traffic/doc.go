// Package traffic is the simulator's call model: a pure, single-threaded,
// deterministic discrete-event model of a CUCM cluster's calls as
// CTIManager reports them at line level.
package traffic
