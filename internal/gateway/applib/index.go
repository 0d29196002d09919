package applib

import (
	"sort"
	"strings"
)

// Match is one application a host belongs to.
type Match struct {
	App *App
	// Hostname is the catalogue hostname that matched: the host itself or its nearest parent.
	Hostname string
	// Support is true when Hostname is one of the application's support hostnames: the request
	// belongs to the application for logging and allow rules, but must not be blocked for it.
	Support bool
	// Shared is true when Hostname is a core hostname several applications share; every one of
	// them is returned and a rule acts only on the application it names.
	Shared bool
}

func (c *Catalog) buildIndex() {
	c.index = map[string][]Match{}
	defer func() {
		for h := range c.index {
			c.maxLabels = max(c.maxLabels, strings.Count(h, ".")+1)
		}
	}()
	for _, a := range c.apps {
		for _, h := range a.Hostnames {
			c.index[h] = append(c.index[h], Match{App: a, Hostname: h})
		}
	}
	for h, ms := range c.index {
		if len(ms) > 1 {
			for i := range ms {
				ms[i].Shared = true
			}
		}
		c.index[h] = ms
	}
	for _, a := range c.apps {
		for _, h := range a.SupportHostnames {
			c.index[h] = append(c.index[h], Match{App: a, Hostname: h, Support: true})
		}
	}
	for _, ms := range c.index {
		// Core matches first, then by application id: a stable order for logs and tests.
		sort.SliceStable(ms, func(i, j int) bool {
			if ms[i].Support != ms[j].Support {
				return !ms[i].Support
			}
			return ms[i].App.ID < ms[j].App.ID
		})
	}
}

// Lookup returns the applications a host belongs to. The most specific catalogue hostname wins:
// the host itself, else its parent domains from the longest down, so "files.chatgpt.com" is
// ChatGPT and "sydney.bing.com" (a Copilot support hostname) is not Bing. All applications
// sharing the winning hostname are returned, core matches before support-only ones, by id.
//
// host must be a host name without port, as the gateway's normalisation produces it (lower case,
// no trailing dot); Lookup tolerates one trailing dot and ASCII upper case (which costs one
// allocation). IP literals and non-ASCII names never match. The result is shared: do not modify
// it. Lookup does not allocate for normalised input.
func (c *Catalog) Lookup(host string) []Match {
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	for i := 0; i < len(host); i++ {
		if ch := host[i]; ch >= 'A' && ch <= 'Z' {
			host = asciiLower(host)
			break
		}
	}
	// Start at the longest suffix that can be a catalogue hostname (no more labels than the
	// longest one has) and stop before a single label (catalogue hostnames have at least two).
	dots := 0
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == '.' {
			dots++
			if dots == c.maxLabels {
				host = host[i+1:]
				break
			}
		}
	}
	for {
		if ms, ok := c.index[host]; ok {
			return ms
		}
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return nil
		}
		host = host[i+1:]
		if strings.IndexByte(host, '.') < 0 {
			return nil
		}
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// Hostnames returns every catalogue hostname (core and support), sorted; for tests and listings.
func (c *Catalog) Hostnames() []string {
	hs := make([]string, 0, len(c.index))
	for h := range c.index {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	return hs
}
