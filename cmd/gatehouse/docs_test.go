package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	codeSpan = regexp.MustCompile("`([^`]*)`")
	// subcommands: a subcommand name or alternatives, `list\|show\|revoke` in the Markdown.
	subcommands = regexp.MustCompile(`^[a-z][a-z0-9-]*(\\\|[a-z][a-z0-9-]*)*$`)
)

// documentedCommands returns the commands docs/operations.md's command table names, as "name"
// and "name sub" (alternatives written `users list\|show` count each).
func documentedCommands(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Command line\n")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "## Command line" section`)
	}
	section := doc[start+len("## Command line\n"):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	out := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range codeSpan.FindAllStringSubmatch(first, -1) {
			words := strings.Fields(m[1])
			if len(words) > 0 && words[0] == "gatehouse" {
				words = words[1:]
			}
			if len(words) == 0 {
				continue
			}
			out[words[0]] = true
			if len(words) > 1 && subcommands.MatchString(words[1]) {
				for _, sub := range strings.Split(words[1], `\|`) {
					out[words[0]+" "+sub] = true
				}
			}
		}
	}
	return out
}

// TestOperationsDocListsEveryCommand: the command table of docs/operations.md names every
// command and subcommand of the CLI, and nothing that is not one.
func TestOperationsDocListsEveryCommand(t *testing.T) {
	documented := documentedCommands(t)
	root := newRoot()
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !documented[c.Name()] {
			t.Errorf("gatehouse %s is missing from the command table of docs/operations.md", c.Name())
		}
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if !documented[c.Name()+" "+sub.Name()] {
				t.Errorf("gatehouse %s %s is missing from the command table of docs/operations.md", c.Name(), sub.Name())
			}
		}
	}
	for name := range documented {
		words := strings.Fields(name)
		found, rest, err := root.Find(words)
		if err != nil || len(rest) != 0 || found.CommandPath() != "gatehouse "+name {
			t.Errorf("docs/operations.md lists gatehouse %s, which is not a command", name)
		}
	}
	if len(documented) < 10 {
		t.Errorf("only %d commands read from docs/operations.md: %v", len(documented), documented)
	}
}
