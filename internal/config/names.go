package config

import (
	"regexp"
	"strconv"
	"strings"
)

// packageNames says, for the problems one package's Validate reports, which
// key each of its field names comes from.
type packageNames struct {
	// section is the key named when a problem mentions no known field.
	section string
	// fields maps a field path as the package writes it, with "[]" for
	// an index or a map key ("CTIManagers[].Addr", `CTIPorts[]`), to the
	// key: "[]" in the key takes a list index back, "{}" a map key
	// ("cti.ctiPorts{}" → cti.ctiPorts.CTIP1).
	fields map[string]string
	// replace rewrites advice in the file's terms (old, new pairs); advice
	// with no key in the file is removed.
	replace []string
}

// fieldNames covers every package whose configuration translate fills.
// A field missing here shows under its Go name; TestEveryKeyNamedInProblems
// sets each key to a bad value and checks the problem names the key.
var fieldNames = map[string]packageNames{
	"ctiengine": {section: "cti", fields: map[string]string{
		"CTIManagers":                    "cti.ctiManagers",
		"CTIManagers[]":                  "cti.ctiManagers[]",
		"CTIManagers[].Name":             "cti.ctiManagers[].name",
		"CTIManagers[].Addr":             "cti.ctiManagers[].address",
		"CTIManagers[].TLSAddr":          "cti.ctiManagers[].tlsAddress",
		"LeastPriority":                  "leastPriority",
		"Login":                          "cti.login",
		"Password":                       "cti.password",
		"AppInfo":                        "cti.appInfo",
		"InstanceID":                     "cti.instanceId",
		"BridgeInstance":                 "instance",
		"DesiredServerHeartbeatInterval": "cti.DesiredServerHeartbeatInterval",
		"ProviderRetryInterval":          "cti.ProviderRetryInterval",
		"ProviderOpenRequestTimeout":     "cti.ProviderOpenRequestTimeout",
		"CtiRequestTimeout":              "cti.CtiRequestTimeout",
		"ProviderOpenRetryAttempts":      "cti.ProviderOpenRetryAttempts",
		"FallbackInitiationTime":         "cti.FallbackInitiationTime",
		"RouteSelectTimeout":             "cti.RouteSelectTimeout",
		"Observe":                        "cti.observe",
		"CTIPorts":                       "cti.ctiPorts",
		"CTIPorts[]":                     "cti.ctiPorts{}",
		"RoutePoints":                    "cti.routePoints",
		"RoutePoints[]":                  "cti.routePoints{}",
		"RoutePoints[].Destinations":     "cti.routePoints{}",
		"TLS.ClientCert":                 "cti.tls.clientCert",
		"TLS.ClientKey":                  "cti.tls.clientKey",
		"TLS.TrustStore":                 "cti.tls.trustStore",
		"TLS.RequireTLS":                 "cti.tls.enabled",
		"RequireTLS":                     "cti.tls.enabled",
		"MaxFrameSize":                   "cti.maxFrameSize",
		"MaxDevices":                     "cti.maxDevices",
		"MaxCalls":                       "cti.maxCalls",
	}, replace: []string{
		" (or set AllowShortTimers for a test or demo)", "",
		"the CTIManagers' CA", "the CTIManager CA",
		"media.", "", // the engine's CTIPortConfig.Media: ip, port, codecs and packetMs sit in the entry itself
	}},
	"schema": {section: "cluster", fields: map[string]string{
		"EncoderConfig.Cluster": "cluster",
		"EncoderConfig.Source":  "source",
		"EncoderConfig.Mode":    "nats.mode",
	}},
	"jetstream": {section: "nats", fields: map[string]string{
		// EmbeddedConfig
		"DataDir": "nats.dataDir",
		"Listen":  "nats.listen",
		// ConnectConfig (and the embedded server's credentials)
		"URL":             "nats.urls",
		"CredentialsFile": "nats.creds",
		"NKeySeedFile":    "nats.nkeySeed",
		"User":            "nats.user",
		"Password":        "nats.password",
		"Token":           "nats.token",
		"CAFile":          "nats.tlsCA",
		"CertFile":        "nats.tlsCert",
		"KeyFile":         "nats.tlsKey",
		// ProvisionConfig
		"Stream":     "nats.stream",
		"Replicas":   "nats.replicas",
		"MaxAge":     "nats.maxAge",
		"Duplicates": "nats.duplicateWindow",
		// (the lease bucket, provisioned with the stream)
		"LeaderBucket": "ha.bucket",
		"LeaderTTL":    "ha.leaseTTL",
		// Config (the publisher)
		"BufferSize":  "nats.bufferSize",
		"BufferBytes": "nats.bufferBytes",
		"MaxInFlight": "nats.maxInFlight",
		"GapSession":  "instance",
	}},
	"replaystore": {section: "nats", fields: map[string]string{
		"SnapshotterConfig.Cluster":  "cluster",
		"SnapshotterConfig.Replicas": "nats.replicas",
		"SnapshotterConfig.MaxAge":   "nats.maxAge",
		"SnapshotterConfig":          "nats.stream", // "SnapshotterConfig stream names …"
	}},
	"bridge": {section: "top level", fields: map[string]string{
		"Instance":            "instance",
		"HTTPListen":          "http.listen",
		"Profiling":           "http.pprof",
		"HA.Mode":             "ha.mode",
		"HA.Lease.TTL":        "ha.leaseTTL",
		"HA.Lease.RenewEvery": "ha.renewEvery",
		"HA.ColdWait":         "ha.coldWait",
		"HA.Window.MaxAge":    "ha.hotWindow",
		"HA.Bucket":           "ha.bucket",
	}},
	"logging": {section: "log", fields: map[string]string{
		"Level":  "log.level",
		"Format": "log.format",
	}},
}

var (
	// fieldRef matches a Go field path in a message: capitalised names
	// joined by dots, each with an optional [index] or ["map key"].
	fieldRef = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?(?:\.[A-Z][A-Za-z0-9]*(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?)*`)
	indexRef = regexp.MustCompile(`\[(\d+|"(?:[^"\\]|\\.)*")\]`)
)

// nameByKey rewrites one problem of a package's Validate ("ctiengine:
// ProviderRetryInterval 1s is below the jtapi.ini minimum 5s: raise it")
// in the file's terms: the package, the key the problem is about
// ("cti.ProviderRetryInterval", the first field it names) and the message
// with every field name replaced by its key ("1s is below the jtapi.ini
// minimum 5s: raise it").
func nameByKey(problem string) (pkg, key, msg string) {
	pkg, body, ok := strings.Cut(problem, ": ")
	names, known := fieldNames[pkg]
	if !ok || !known {
		return "", topLevel, problem
	}
	body = strings.NewReplacer(names.replace...).Replace(body)
	var sb strings.Builder
	last, keyAtStart := 0, false
	for _, loc := range fieldRef.FindAllStringIndex(body, -1) {
		k, ok := names.key(body[loc[0]:loc[1]])
		if !ok {
			continue
		}
		sb.WriteString(body[last:loc[0]])
		if key == "" {
			key, keyAtStart = k, loc[0] == 0
		}
		sb.WriteString(k)
		last = loc[1]
	}
	sb.WriteString(body[last:])
	msg = sb.String()
	switch {
	case key == "":
		return pkg, names.section, body
	case keyAtStart:
		// The problem starts with the field: the key says it.
		msg = strings.TrimPrefix(strings.TrimPrefix(msg[len(key):], " "), ": ")
	}
	return pkg, key, msg
}

// key returns the file's key for a field path as a package writes it, with
// its indexes and map keys carried over.
func (n packageNames) key(ref string) (string, bool) {
	k, ok := n.fields[indexRef.ReplaceAllString(ref, "[]")]
	if !ok {
		return "", false
	}
	for _, m := range indexRef.FindAllStringSubmatch(ref, -1) {
		i := placeholder(k)
		if i < 0 {
			break
		}
		if k[i] == '[' {
			k = k[:i] + "[" + m[1] + "]" + k[i+2:]
			continue
		}
		mk, err := strconv.Unquote(m[1])
		if err != nil {
			mk = m[1]
		}
		k = mapField(k[:i], mk) + k[i+2:]
	}
	// A placeholder left without its index names the whole list or map.
	if i := placeholder(k); i >= 0 {
		k = k[:i]
	}
	return k, true
}

// placeholder returns where the first "[]" or "{}" of a key is, or -1.
func placeholder(k string) int {
	i, j := strings.Index(k, "[]"), strings.Index(k, "{}")
	if i < 0 || (j >= 0 && j < i) {
		return j
	}
	return i
}
