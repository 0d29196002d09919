package config

import (
	_ "embed"
	"slices"
)

//go:embed example.yaml
var example []byte

// Example returns a commented example configuration that passes validation (the tests make
// sure of it). It is the reference sample for the documentation and `gatehouse config`.
func Example() []byte { return slices.Clone(example) }
