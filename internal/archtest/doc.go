// Package archtest holds repository-wide guard tests: the import rules
// between packages and the presence of package documentation.
package archtest
