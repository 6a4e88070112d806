// Package schema is the event vocabulary shared by every part of the bridge:
// the domain Event the engine produces, its CloudEvent data types, the JTAPI
// event catalogue with ids, states and causes, and (in later files) the
// CloudEvents encoding, the subject scheme and the JSON Schemas.
//
// It is the leaf of the module: it imports no other project package and
// nothing of NATS beyond header types, so producers and consumers can share
// it freely.
package schema
