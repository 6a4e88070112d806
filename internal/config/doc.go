// Package config loads and validates the bridge daemon's configuration from
// a YAML file, CTIBRIDGE_* environment variables and flags. CTI settings use
// jtapi.ini names (DesiredServerHeartbeatInterval, ProviderRetryInterval,
// ...) with JTAPI's documented defaults. Validate reports every problem at
// once, each naming the field and how to fix it. Secrets are of type Secret
// and never print.
package config
