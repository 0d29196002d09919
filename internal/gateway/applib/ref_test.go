package applib

import "path"

// pathMatch is the standard library's glob, used as a reference for one segment (segments
// never contain '/', and fuzzed patterns avoid '?', '[' and '\').
func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }
