// Package gatewaye2e checks the JTAPI gateway (gateway/jtapi) end to end,
// without a CUCM: the gateway runs on its JTAPI test double (Cisco's JTAPI
// interfaces implemented by java.lang.reflect.Proxy objects scripting a
// cluster), the bridge connects to it as to any CTIManager, and what the
// bridge stores in JetStream is compared with what it stores when the same
// scenarios run through the simulator (pkg/ctisim). docs/gateway.md
// §"How it is tested" says what "the same" means.
//
// The package holds the harness: finding Java, the Cisco jar and JUnit
// (Toolchain), building the gateway with its build script (Build), running
// gateways on the double and scripting calls through it (Double), and the
// normalisation and comparison of stored events (Normalize, Diff). The tests
// skip with a message naming what is missing on a machine without Java, and
// fail instead when CTIBRIDGE_REQUIRE_JAVA=1 (what .ci/run sets).
package gatewaye2e
