package config

import (
	_ "embed"
	"slices"
)

//go:embed example.yaml
var example []byte

// Example returns a commented example configuration (example.yaml) that passes validation; the
// tests make sure it keeps doing so. It is the sample for the documentation and the command line.
func Example() []byte { return slices.Clone(example) }
