package config

import "github.com/gatehouse/gatehouse/internal/configfield"

// Secret is a secret value in the configuration file, given in one of three forms:
//
//	client_secret: s3cr3t                          # inline (same as {value: s3cr3t})
//	client_secret: {value: s3cr3t}                 # inline
//	client_secret: {file: /run/secrets/ci-token}   # the file's contents, minus one trailing newline
//	client_secret: {env: CI_TOKEN}                 # an environment variable
//
// It is configfield.SecretRef, the type identity provider configs use too: files and variables
// are read by Resolve when the secret is needed, and String, GoString, MarshalJSON and LogValue
// never show an inline value.
type Secret = configfield.SecretRef

const secretForms = "a string or a mapping with one of value, file or env"
