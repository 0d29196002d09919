package main

import (
	"encoding/json"
	"errors"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/app"
)

func gatewayReportCmd() *cobra.Command {
	var (
		f     adminFlags
		since string
		top   int
	)
	cmd := &cobra.Command{
		Use:   "report [--config FILE] [--since 30d|36h|2026-11-01] [--top N] [--json]",
		Short: "Shadow-AI discovery: which applications are used, by how many users, with how much data",
		Long: "Print the gateway's usage from the store's daily rollups: per review status the requests and bytes\n" +
			"uploaded and downloaded, and its top applications (users, requests, bytes, prompts, uploads, blocks);\n" +
			"then unique users and bytes per day. --since is a number of days (30d, the default, means today and\n" +
			"the 29 days before), a duration (36h) or a date (UTC days). A running gateway writes its counts every\n" +
			"gateway.usage.flush_interval, so the last minute may be missing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if top < 1 || top > 1000 {
				return errors.New("--top must be between 1 and 1000")
			}
			return f.withAdmin(cmd, func(a *app.Admin) error {
				rep, err := a.GatewayReport(cmd.Context(), since, top)
				if err != nil {
					return err
				}
				if f.json {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				return rep.WriteText(cmd.OutOrStdout())
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&since, "since", "30d", "first day counted: 30d, 36h or 2026-11-01")
	cmd.Flags().IntVar(&top, "top", 10, "applications listed per review status")
	return cmd
}
