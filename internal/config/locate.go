package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// splitPath splits "applications[1].destinations[0]" into
// ["applications", "[1]", "destinations", "[0]"].
func splitPath(path string) []string {
	var segs []string
	for part := range strings.SplitSeq(path, ".") {
		for part != "" {
			i := strings.IndexByte(part[1:], '[')
			if i < 0 {
				segs = append(segs, part)
				break
			}
			segs = append(segs, part[:i+1])
			part = part[i+1:]
		}
	}
	return segs
}

// lookup returns the node at path under root and whether the whole path exists. When it does not,
// the node is the deepest one that does (at worst root), which is where a problem about the
// missing part is reported.
func lookup(root *yaml.Node, path string) (*yaml.Node, bool) {
	if root == nil {
		return nil, false
	}
	n := deref(root)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return n, path == ""
		}
		n = deref(n.Content[0])
	}
	for _, seg := range splitPath(path) {
		next := child(n, seg)
		if next == nil {
			return n, false
		}
		n = next
	}
	return n, true
}

// child returns the value of key seg in mapping n, or element [i] of sequence n, or nil.
func child(n *yaml.Node, seg string) *yaml.Node {
	if strings.HasPrefix(seg, "[") && strings.HasSuffix(seg, "]") {
		i, err := strconv.Atoi(seg[1 : len(seg)-1])
		if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
			return nil
		}
		return deref(n.Content[i])
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	for _, p := range pairs(n) { // the last match wins, as in decoding
		if p.key.Kind == yaml.ScalarNode && p.key.Value == seg {
			found = p.value
		}
	}
	if found == nil {
		return nil
	}
	return deref(found)
}
