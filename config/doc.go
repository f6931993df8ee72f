// Package config reads hostwatch's YAML configuration: the schema as typed
// structs, ${ENV} expansion, defaults, and validation that reports every
// problem as "file:line: path: message".
package config
