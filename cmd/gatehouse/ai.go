package main

import "github.com/spf13/cobra"

// aiCmd groups the AI prompt protection commands.
func aiCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ai", Short: "AI prompt protection: inspect what AI applications are sent and answer"}
	cmd.AddCommand(aiExtractCmd())
	return cmd
}
