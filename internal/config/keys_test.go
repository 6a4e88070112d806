package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// badValues gives, for every key, a value its owning package refuses and
// the key the problem must be named by (usually the key itself; for a
// list or map entry, the entry). A key with no value to refuse says so
// with a nil mutate. TestEveryKeyNamedInProblems fails for a key missing
// here, so a new key is tried as soon as it exists.
var badValues = map[string]struct {
	mutate func(*Config)
	want   string
}{
	"cluster":                            {func(c *Config) { c.Cluster = "" }, "cluster"},
	"source":                             {func(c *Config) { c.Source = "cti://a\x01b" }, "source"},
	"instance":                           {func(c *Config) { c.Instance = "two words" }, "instance"},
	"cti.ctiManagers":                    {func(c *Config) { c.CTI.CTIManagers = nil }, "cti.ctiManagers"},
	"cti.ctiManagers[].name":             {func(c *Config) { c.CTI.CTIManagers[1].Name = c.CTI.CTIManagers[0].Name }, "cti.ctiManagers[1].name"},
	"cti.ctiManagers[].address":          {func(c *Config) { c.CTI.CTIManagers[0].Address = "nohost" }, "cti.ctiManagers[0].address"},
	"cti.ctiManagers[].tlsAddress":       {func(c *Config) { c.CTI.CTIManagers[1].TLSAddress = "nohost" }, "cti.ctiManagers[1].tlsAddress"},
	"cti.ctiManagers[].leastPriority":    {func(c *Config) { c.CTI.CTIManagers[0].LeastPriority, c.CTI.CTIManagers[1].LeastPriority = true, true }, "cti.ctiManagers"},
	"cti.login":                          {func(c *Config) { c.CTI.Login = "" }, "cti.login"},
	"cti.password":                       {func(c *Config) { c.CTI.Password = "" }, "cti.password"},
	"cti.appInfo":                        {func(c *Config) { c.CTI.AppInfo = "a;b" }, "cti.appInfo"},
	"cti.instanceId":                     {func(c *Config) { c.CTI.TLS = TLSConfig{ClientCert: "c.pem", ClientKey: "k.pem", TrustStore: "t.pem"} }, "cti.instanceId"},
	"cti.DesiredServerHeartbeatInterval": {func(c *Config) { c.CTI.DesiredServerHeartbeatInterval = Seconds(-time.Second) }, "cti.DesiredServerHeartbeatInterval"},
	"cti.ProviderRetryInterval":          {func(c *Config) { c.CTI.ProviderRetryInterval = Seconds(time.Second) }, "cti.ProviderRetryInterval"},
	"cti.ProviderOpenRequestTimeout":     {func(c *Config) { c.CTI.ProviderOpenRequestTimeout = Seconds(5 * time.Second) }, "cti.ProviderOpenRequestTimeout"},
	"cti.CtiRequestTimeout":              {func(c *Config) { c.CTI.CtiRequestTimeout = Seconds(2 * time.Second) }, "cti.CtiRequestTimeout"},
	"cti.ProviderOpenRetryAttempts":      {func(c *Config) { c.CTI.ProviderOpenRetryAttempts = -2 }, "cti.ProviderOpenRetryAttempts"},
	"cti.FallbackInitiationTime":         {func(c *Config) { c.CTI.FallbackInitiationTime = Seconds(-time.Second) }, "cti.FallbackInitiationTime"},
	"cti.RouteSelectTimeout":             {func(c *Config) { c.CTI.RouteSelectTimeout = Milliseconds(-time.Millisecond) }, "cti.RouteSelectTimeout"},
	"cti.tls.enabled":                    {func(c *Config) { c.CTI.TLS.Enabled = true }, "cti.tls.enabled"},
	"cti.tls.clientCert":                 {func(c *Config) { c.CTI.InstanceID, c.CTI.TLS.ClientCert, c.CTI.TLS.TrustStore = "i", "c.pem", "t.pem" }, "cti.tls.clientCert"},
	"cti.tls.clientKey":                  {func(c *Config) { c.CTI.InstanceID, c.CTI.TLS.ClientKey, c.CTI.TLS.TrustStore = "i", "k.pem", "t.pem" }, "cti.tls.clientCert"},
	"cti.tls.trustStore":                 {func(c *Config) { c.CTI.InstanceID, c.CTI.TLS.ClientCert, c.CTI.TLS.ClientKey = "i", "c.pem", "k.pem" }, "cti.tls.trustStore"},
	"cti.observe":                        {},
	"cti.ctiPorts":                       {func(c *Config) { c.CTI.CTIPorts = map[string]Media{"": {Dynamic: true}} }, "cti.ctiPorts"},
	"cti.ctiPorts.*.ip":                  {func(c *Config) { c.CTI.CTIPorts = map[string]Media{"P1": {Port: 4000}} }, "cti.ctiPorts.P1"},
	"cti.ctiPorts.*.port":                {func(c *Config) { c.CTI.CTIPorts = map[string]Media{"P1": {IP: "10.0.0.1", Port: 70000}} }, "cti.ctiPorts.P1"},
	"cti.ctiPorts.*.codecs": {func(c *Config) {
		c.CTI.CTIPorts = map[string]Media{"P1": {IP: "10.0.0.1", Port: 4000, Codecs: slices.Repeat([]string{"G711U"}, 33)}}
	}, "cti.ctiPorts.P1"},
	"cti.ctiPorts.*.packetMs": {func(c *Config) { c.CTI.CTIPorts = map[string]Media{"P1": {IP: "10.0.0.1", Port: 4000, PacketMs: 5000}} }, "cti.ctiPorts.P1"},
	"cti.ctiPorts.*.dynamic":  {},
	"cti.routePoints":         {func(c *Config) { c.CTI.RoutePoints = map[string][]string{"5000": nil} }, "cti.routePoints.5000"},
	"cti.maxFrameSize":        {func(c *Config) { c.CTI.MaxFrameSize = 1023 }, "cti.maxFrameSize"},
	"cti.maxDevices":          {func(c *Config) { c.CTI.MaxDevices = -1 }, "cti.maxDevices"},
	"cti.maxCalls":            {func(c *Config) { c.CTI.MaxCalls = -1 }, "cti.maxCalls"},
	"nats.embedded":           {func(c *Config) { c.NATS.Embedded = false }, "nats.urls"},
	"nats.listen":             {func(c *Config) { c.NATS.Listen = "nohost" }, "nats.listen"},
	"nats.dataDir":            {func(c *Config) { c.NATS.DataDir = "" }, "nats.dataDir"},
	"nats.urls":               {func(c *Config) { c.NATS.Embedded, c.NATS.URLs = false, []string{"nats-1:4222"} }, "nats.urls"},
	"nats.creds":              {func(c *Config) { c.NATS.Creds = "bridge.creds" }, "nats.creds"},
	"nats.nkeySeed": {func(c *Config) {
		c.NATS.Embedded, c.NATS.URLs, c.NATS.NKeySeed = false, []string{"nats://n:4222"}, "/nonexistent/seed"
	}, "nats.nkeySeed"},
	"nats.user":     {func(c *Config) { c.NATS.User = "bridge" }, "nats.user"},
	"nats.password": {func(c *Config) { c.NATS.Password = "pw" }, "nats.password"},
	"nats.token":    {func(c *Config) { c.NATS.User, c.NATS.Password, c.NATS.Token = "u", "p", "t" }, "nats.token"},
	"nats.tlsCA":    {func(c *Config) { c.NATS.TLSCA = "ca.pem" }, "nats.tlsCA"},
	"nats.tlsCert": {func(c *Config) {
		c.NATS.Embedded, c.NATS.URLs, c.NATS.TLSCert = false, []string{"tls://n:4222"}, "/nonexistent/c.pem"
	}, "nats.tlsCert"},
	"nats.tlsKey":          {func(c *Config) { c.NATS.TLSKey = "k.pem" }, "nats.tlsKey"},
	"nats.syncAlways":      {}, // any boolean is valid
	"nats.stream":          {func(c *Config) { c.NATS.Stream = "cti.events" }, "nats.stream"},
	"nats.replicas":        {func(c *Config) { c.NATS.Replicas = 9 }, "nats.replicas"},
	"nats.maxAge":          {func(c *Config) { c.NATS.MaxAge = -time.Hour }, "nats.maxAge"},
	"nats.duplicateWindow": {func(c *Config) { c.NATS.DuplicateWindow = 50 * time.Millisecond }, "nats.duplicateWindow"},
	"nats.bufferSize":      {func(c *Config) { c.NATS.BufferSize = -1 }, "nats.bufferSize"},
	"nats.bufferBytes":     {func(c *Config) { c.NATS.BufferBytes = 5 }, "nats.bufferBytes"},
	"nats.maxInFlight":     {func(c *Config) { c.NATS.MaxInFlight = -1 }, "nats.maxInFlight"},
	"nats.mode":            {func(c *Config) { c.NATS.Mode = "xml" }, "nats.mode"},
	"nats.stateView":       {}, // any boolean is valid
	"http.listen":          {func(c *Config) { c.HTTP.Listen = "nohost" }, "http.listen"},
	"http.pprof":           {func(c *Config) { c.HTTP.Pprof, c.HTTP.Listen = true, "" }, "http.pprof"},
	"log.level":            {func(c *Config) { c.Log.Level = "loud" }, "log.level"},
	"log.format":           {func(c *Config) { c.Log.Format = "xml" }, "log.format"},
	"ha.enabled":           {func(c *Config) { c.HA.Enabled, c.Instance = true, "" }, "instance"},
	"ha.mode":              {func(c *Config) { c.HA.Enabled, c.Instance, c.HA.Mode = true, "a", "warm" }, "ha.mode"},
	"ha.leaseTTL":          {func(c *Config) { c.HA.LeaseTTL = 100 * time.Millisecond }, "ha.leaseTTL"},
	"ha.renewEvery":        {func(c *Config) { c.HA.Enabled, c.Instance, c.HA.RenewEvery = true, "a", 9*time.Second }, "ha.renewEvery"},
	"ha.coldWait":          {func(c *Config) { c.HA.Enabled, c.Instance, c.HA.ColdWait = true, "a", -time.Second }, "ha.coldWait"},
	"ha.hotWindow": {func(c *Config) {
		c.HA.Enabled, c.Instance, c.HA.Mode, c.HA.HotWindow = true, "a", "hot", time.Second
	}, "ha.hotWindow"},
	"ha.bucket": {func(c *Config) { c.HA.Enabled, c.Instance, c.HA.Bucket = true, "a", "cti.leader" }, "ha.bucket"},
}

// Every key, set to a value its package refuses, gives a problem named by
// that key, and no problem shows a Go field name instead of a key: the
// rules live in the packages, the names in the file's terms.
func TestEveryKeyNamedInProblems(t *testing.T) {
	for _, k := range Keys() {
		bv, ok := badValues[k.Path]
		if !ok {
			t.Errorf("key %s has no entry in badValues: give a value its package refuses (or an empty entry if there is none)", k.Path)
			continue
		}
		if bv.mutate == nil {
			continue
		}
		t.Run(k.Path, func(t *testing.T) {
			c := validBase()
			bv.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			checkProblems(t, "Validate", err)
			named := false
			for _, p := range problems(err) {
				line := p.Error()
				named = named || strings.HasPrefix(line, bv.want+": ")
				if name := goFieldName(line); name != "" {
					t.Errorf("problem shows the Go field %s instead of a key: %s", name, line)
				}
			}
			if !named {
				t.Errorf("no problem named by %s:\n%v", bv.want, err)
			}
		})
	}
	for path := range badValues {
		if !slices.ContainsFunc(Keys(), func(k Key) bool { return k.Path == path }) {
			t.Errorf("badValues has %s, which is not a key", path)
		}
	}
}

// goFieldName returns a field name of a package's configuration left in a
// problem line (not preceded by a dot: the jtapi.ini keys are written as
// the engine's fields are), or "".
func goFieldName(line string) string {
	for _, loc := range fieldRef.FindAllStringIndex(line, -1) {
		if loc[0] > 0 && line[loc[0]-1] == '.' {
			continue
		}
		ref := indexRef.ReplaceAllString(line[loc[0]:loc[1]], "[]")
		for _, names := range fieldNames {
			if _, ok := names.fields[ref]; ok {
				return ref
			}
		}
	}
	return ""
}

// A problem of a package is rewritten in the file's terms: the key first,
// indexes and map keys carried over, every field name replaced.
func TestNameByKey(t *testing.T) {
	for _, tc := range []struct{ in, key, msg string }{
		{"ctiengine: ProviderRetryInterval 1s is below the jtapi.ini minimum 5s: raise it (or set AllowShortTimers for a test or demo)",
			"cti.ProviderRetryInterval", "1s is below the jtapi.ini minimum 5s: raise it"},
		{`ctiengine: CTIManagers[3].Addr "x" is not host:port: missing port`, "cti.ctiManagers[3].address", `"x" is not host:port: missing port`},
		{`ctiengine: RoutePoints["5000"].Destinations lists 0 numbers`, "cti.routePoints.5000", "lists 0 numbers"},
		{`ctiengine: CTIPorts["a b"] media is invalid`, `cti.ctiPorts["a b"]`, "media is invalid"},
		{"ctiengine: TLS.RequireTLS is set without TLS.ClientCert: configure the client certificate issued for InstanceID",
			"cti.tls.enabled", "is set without cti.tls.clientCert: configure the client certificate issued for cti.instanceId"},
		{"jetstream: several authentication methods set: use only one of CredentialsFile, NKeySeedFile, User/Password, Token",
			"nats.creds", "several authentication methods set: use only one of nats.creds, nats.nkeySeed, nats.user/nats.password, nats.token"},
		{"schema: EncoderConfig.Cluster is empty: set it", "cluster", "is empty: set it"},
		{"jetstream: something without a field", "nats", "something without a field"},
		{"elsewhere: Stream is odd", topLevel, "elsewhere: Stream is odd"},
	} {
		_, key, msg := nameByKey(tc.in)
		if key != tc.key || msg != tc.msg {
			t.Errorf("%q\n got %q: %q\nwant %q: %q", tc.in, key, msg, tc.key, tc.msg)
		}
	}
}

// The jtapi.ini intervals take whole seconds (milliseconds for
// RouteSelectTimeout), as jtapi.ini files have them, or a duration with
// its unit; anything else is refused by key.
func TestJtapiIntervalsTakeSecondsOrDurations(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		retry time.Duration
		route time.Duration
	}{
		{"cti:\n  ProviderRetryInterval: 30\n  RouteSelectTimeout: 2500\n", 30 * time.Second, 2500 * time.Millisecond},
		{"cti:\n  ProviderRetryInterval: 45s\n  RouteSelectTimeout: 3s\n", 45 * time.Second, 3 * time.Second},
		{"cti:\n  ProviderRetryInterval: 1m30s\n  RouteSelectTimeout: 750ms\n", 90 * time.Second, 750 * time.Millisecond},
		{"cti:\n  ProviderRetryInterval: \"60\"\n", 60 * time.Second, 5 * time.Second},
	} {
		c, err := Parse([]byte(tc.doc), Default())
		if err != nil {
			t.Fatalf("%q: %v", tc.doc, err)
		}
		if c.CTI.ProviderRetryInterval.Duration() != tc.retry || c.CTI.RouteSelectTimeout.Duration() != tc.route {
			t.Errorf("%q: ProviderRetryInterval %v RouteSelectTimeout %v, want %v %v", tc.doc,
				c.CTI.ProviderRetryInterval.Duration(), c.CTI.RouteSelectTimeout.Duration(), tc.retry, tc.route)
		}
	}
	for _, tc := range []struct{ doc, want string }{
		{"cti:\n  ProviderRetryInterval: 1.5\n", "cti.ProviderRetryInterval (line 2): cannot unmarshal !!float `1.5` into seconds: give whole seconds (jtapi.ini's unit) or a duration with its unit"},
		{"cti:\n  CtiRequestTimeout: soon\n", "cti.CtiRequestTimeout (line 2): cannot unmarshal !!str `soon` into seconds"},
		{"cti:\n  RouteSelectTimeout: [1]\n", "cti.RouteSelectTimeout (line 2): cannot unmarshal !!seq into milliseconds"},
		{"cti:\n  FallbackInitiationTime: 9999999999999\n  ProviderOpenRequestTimeout: x\n", "2 problem(s)"},
	} {
		_, err := Parse([]byte(tc.doc), Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.doc, err, tc.want)
		}
	}
}
