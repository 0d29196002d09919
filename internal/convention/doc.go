// Package convention holds no code: its tests enforce the project's conventions (every package
// documented, no replace directives, dependency bans between layers).
package convention
