package main

import "github.com/spf13/cobra"

// aiCmd groups the AI prompt protection commands.
func aiCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ai", Short: "AI prompt protection: classify prompts into content and intent topics"}
	cmd.AddCommand(aiClassifyCmd())
	return cmd
}
