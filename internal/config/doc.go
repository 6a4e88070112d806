// Package config loads the bridge daemon's configuration from a YAML file,
// CTIBRIDGE_* environment variables and flags, and translates it into the
// configurations of the packages that use it (Build): the engine's, the
// JetStream publisher's, stream's and embedded server's or connection's, the
// encoder's, the bridge's, the logger's.
//
// The rules live in those packages: Build calls their Validate methods and
// names each problem by the key it comes from (a field name such as
// "CTIManagers[1].Addr" becomes "cti.ctiManagers[1].address"), so
// `bridge run --check` and `bridge run` validate the same values with the
// same rules. The package itself holds only the rules about how the file's
// keys combine (embedded or external NATS), where secrets come from, and
// the daemon's floor for nats.bufferBytes.
//
// CTI settings use jtapi.ini names (DesiredServerHeartbeatInterval,
// ProviderRetryInterval, ...) with JTAPI's defaults; their intervals take
// whole seconds, jtapi.ini's unit, or a duration with its unit. Each key's
// environment variable is the env tag of its field (Keys lists them), and
// docs/operations.md documents every key, which a test checks. Secrets are
// of type Secret and never print.
package config
