// Package dialplan is the simulated cluster's dial plan: which directory
// numbers the simulator accepts, the number a caller dials to reach each
// one, and which dialled numbers leave the cluster through a trunk.
//
// # Directory numbers
//
// CUCM accepts a directory number made of the dial digits 0-9, * and #,
// optionally led by a literal plus for +E.164 numbering, which CUCM's
// pattern syntax writes escaped, `\+`, because an unescaped + is a
// wildcard there (CUCM administrators write a +E.164 DN as \+4930…; the
// JTAPI guide is silent on it, so the rule here is ours, from CUCM's
// pattern syntax). The simulator accepts, as administrators write them:
//
//	1001      a plain extension
//	*55, #1   feature-style numbers with * and #
//	\+4930    a +E.164 number, escaped as CUCM stores it
//	+4930123  a +E.164 number written without the escape
//
// The line keeps the number exactly as configured: it is the Address name
// the link protocol carries and the bridge publishes (subject, data), so
// `\+4930` stays `\+4930`. The number that reaches a line (Dialled) drops
// the escape: both `\+4930` and `+4930` are reached by dialling +4930, so
// a cluster may not hold both. Wildcards (X ! ? . [ ] -) make a pattern,
// not a number: route patterns and hunt pilots are configured apart, and
// a directory number with a wildcard is refused. A + anywhere but first
// is refused too.
//
// CheckDN is the one rule; the simulator's cluster validation and the
// traffic model both use it. The link protocol itself (pkg/ctilink)
// carries any name: a gateway passes CUCM's strings through unchanged.
//
// # Trunks
//
// A trunk reaches numbers outside the cluster. It owns the dialled numbers
// that start with one of its prefixes (e.g. "0" or "+"), longest prefix
// first, unless the number is a directory number of the cluster (a
// cluster's own +E.164 numbers stay inside). Route decides.
package dialplan
