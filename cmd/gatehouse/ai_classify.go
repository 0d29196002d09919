package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/ai"
)

// aiClassifyCmd is gatehouse ai classify.
func aiClassifyCmd() *cobra.Command {
	var asJSON bool
	var customers []string
	classify := &cobra.Command{
		Use:   "classify [--json] FILE|-",
		Short: "Classify prompts (JSON lines {\"prompt\": ..., \"context\": ...}) into topics",
		Long: "Read JSON lines {\"prompt\": \"...\", \"context\": \"...\"} (context optional: tool output or document\n" +
			"text the prompt came with) from FILE or stdin and write one JSON line per input:\n" +
			"{\"topics\": [{\"id\": \"intent_jailbreak\", \"confidence\": \"high\", \"family\": \"...\", \"reasons\": [...], \"spans\": [...]}]}.\n" +
			"Topics: " + strings.Join(ai.TopicIDs, ", ") + ".\n" +
			"A line whose content could not be fully inspected (an undecodable or truncated layer) is marked\n" +
			"\"incomplete\": true and counts as having a topic (fail closed).\n" +
			"Exit status: 0 no line has a topic, 1 some line has one, 2 bad input (the error names the line).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ai.New(ai.Options{CustomerNames: customers})
			if err != nil {
				return err
			}
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return fmt.Errorf("ai classify: %w", err)
			}
			defer closeIn()
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			any, err := classifyLines(c, in, cmd.OutOrStdout(), asJSON)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "gatehouse: ai classify:", err)
				return exitError(2)
			}
			if any {
				return exitError(1)
			}
			return nil
		},
	}
	classify.Flags().BoolVar(&asJSON, "json", true, "write JSON lines (the default); --json=false writes one readable line per input")
	classify.Flags().StringSliceVar(&customers, "customer", nil, "a customer or project name for content_customer_data (repeatable, or comma-separated)")
	return classify
}

// classifyLine is one input line.
type classifyLine struct {
	Prompt  *string `json:"prompt"`
	Context *string `json:"context"`
}

// maxLine bounds one input line (a prompt with its documents).
const maxLine = 16 << 20

// classifyLines classifies every non-blank line of r and reports whether
// any had a topic. A bad line stops the run with an error naming it; the
// lines before it have been written.
func classifyLines(c *ai.Classifier, r io.Reader, w io.Writer, asJSON bool) (bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	found := false
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var in classifyLine
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&in); err != nil {
			return found, fmt.Errorf("line %d: %s", n, jsonProblem(err))
		}
		if dec.More() {
			return found, fmt.Errorf("line %d: more than one JSON value on the line", n)
		}
		if in.Prompt == nil {
			return found, fmt.Errorf("line %d: no \"prompt\" string", n)
		}
		input := ai.Input{Prompt: *in.Prompt}
		if in.Context != nil {
			input.Context = *in.Context
		}
		res := c.ClassifyResult(input)
		if len(res.Topics) > 0 || res.Incomplete {
			found = true // an input that could not be fully read fails closed
		}
		if res.Topics == nil {
			res.Topics = []ai.Topic{}
		}
		if asJSON {
			if err := enc.Encode(res); err != nil {
				return found, fmt.Errorf("writing line %d: %w", n, err)
			}
			continue
		}
		var parts []string
		for _, t := range res.Topics {
			parts = append(parts, fmt.Sprintf("%s (%s, %s): %s", t.ID, t.Confidence, t.Family, strings.Join(t.Reasons, "; ")))
		}
		if res.Incomplete {
			parts = append(parts, "incomplete: "+strings.Join(res.Reasons, "; "))
		}
		if len(parts) == 0 {
			parts = []string{"no topic"}
		}
		fmt.Fprintf(bw, "line %d: %s\n", n, strings.Join(parts, " | "))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return found, fmt.Errorf("line %d: longer than %d MiB", n+1, maxLine>>20)
		}
		return found, fmt.Errorf("reading line %d: %w", n+1, err)
	}
	return found, nil
}

// jsonProblem says what is wrong with a line without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%q must be a string", te.Field)
	case errors.As(err, &te):
		return `not a JSON object {"prompt": "...", "context": "..."}`
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return `not a JSON object {"prompt": "...", "context": "..."}`
}
