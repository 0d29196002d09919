package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
)

func devicesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List and revoke enrolled gateway devices (acts on the configured store)",
		Long: "Devices are enrolled by their users on the auth domain (<prefix>gateway/enroll, allowed by the " +
			"policies of the warp application) and authenticate to the secure web gateway with their own proxy " +
			"credentials. A revoked device is refused (407) on its next request; revocation cannot be undone: " +
			"the user enrols the device again.",
	}

	var lf adminFlags
	var user string
	list := &cobra.Command{
		Use: "list [--user EMAIL|ID] [--json]", Short: "List enrolled devices, revoked ones included, oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lf.withService(cmd, func(svc *admin.Service) error {
				devs, err := svc.ListDevices(cmd.Context(), user)
				if err != nil {
					return err
				}
				if devs == nil {
					devs = []admin.Device{}
				}
				return lf.emit(cmd, devs, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tUSER\tNAME\tENROLLED\tLAST SEEN\tREVOKED")
					for _, d := range devs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, dash(d.User.Email), d.Name, fmtTime(d.Created), fmtTime(d.LastSeen), fmtTime(d.RevokedAt))
					}
				})
			})
		},
	}
	lf.register(list)
	list.Flags().StringVar(&user, "user", "", "only this user's devices (e-mail or user ID)")

	var rf adminFlags
	var revokeUser string
	revoke := &cobra.Command{
		Use:   "revoke ID | --user EMAIL|ID",
		Short: "Revoke one device, or every device of a user with --user",
		Long: "Revoke one device, or every device of a user with --user. A running Gatehouse sharing the database " +
			"notices it within half a second (it polls the database for changes made by other processes) and refuses the device from then on.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (revokeUser != "") {
				return errors.New("give a device ID or --user, not both and not neither")
			}
			return rf.withService(cmd, func(svc *admin.Service) error {
				if revokeUser != "" {
					u, n, err := svc.RevokeUserDevices(cmd.Context(), admin.CLIActor, revokeUser)
					if err != nil {
						return err
					}
					return rf.emit(cmd, map[string]any{"user": u.ID, "email": u.Email, "devices_revoked": n}, func(w io.Writer) {
						fmt.Fprintf(w, "revoked %d device(s) of %s (%s)\n", n, u.Email, u.ID)
					})
				}
				d, err := svc.RevokeDevice(cmd.Context(), admin.CLIActor, args[0])
				if err != nil {
					return err
				}
				return rf.emit(cmd, d, func(w io.Writer) {
					fmt.Fprintf(w, "revoked device %s (%s) of %s at %s\n", d.ID, d.Name, dash(d.User.Email), fmtTime(d.RevokedAt))
				})
			})
		},
	}
	rf.register(revoke)
	revoke.Flags().StringVar(&revokeUser, "user", "", "revoke every device of this user (e-mail or user ID)")

	cmd.AddCommand(list, revoke)
	return cmd
}
