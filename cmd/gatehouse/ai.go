package main

import "github.com/spf13/cobra"

// aiCmd groups the AI prompt protection commands.
func aiCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ai", Short: "AI prompt protection: classify prompts into topics, inspect what AI applications are sent and answer, read the encrypted prompt logs"}
	cmd.AddCommand(aiClassifyCmd(), aiExtractCmd(), aiLogsCmd())
	return cmd
}
