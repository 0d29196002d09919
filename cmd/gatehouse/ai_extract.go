package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/app"
)

// aiExtractOutput is what `ai extract` prints.
type aiExtractOutput struct {
	Kind     string            `json:"kind"` // request or response
	Adapter  string            `json:"adapter"`
	Version  int               `json:"version"`
	Status   extract.Status    `json:"status"`
	App      int               `json:"app,omitempty"`
	AppName  string            `json:"app_name,omitempty"`
	Request  *extract.Request  `json:"request,omitempty"`
	Response *extract.Response `json:"response,omitempty"`
}

func aiExtractCmd() *cobra.Command {
	var (
		appFlag, method, host, urlPath, contentType string
		response, list, asJSON                      bool
	)
	cmd := &cobra.Command{
		Use:   "extract [--app ID] [--path PATH] [--content-type CT] [--response] FILE|-",
		Short: "Print what an extraction adapter reads from a captured request or response",
		Long: "Print, as JSON, what an AI extraction adapter reads from a captured request or response: the\n" +
			"prompt, user text, tool and document context, system prompt, model, conversation id and\n" +
			"attachments of a request; the reassembled answer, model and completeness of a response.\n\n" +
			"FILE (or - for stdin) is either a whole HTTP/1.1 message as captured (request line or status\n" +
			"line, headers, body; chunked transfer coding and Content-Encoding gzip, br, deflate, zstd are\n" +
			"undone) or a bare body. For an HTTP request the adapter is found from its method, Host and path;\n" +
			"--app then only checks it belongs to that application. An HTTP response or a bare body carries\n" +
			"no URL: name the application with --app and, when it has several adapters, the request path with\n" +
			"--path (otherwise its first prompt adapter is used). A bare body is read as a request unless\n" +
			"--response is given; --content-type gives its Content-Type (multipart boundaries, the framing of a\n" +
			"response; without it the framing is sniffed).\n\n" +
			"--app takes an application-library id (1199), an application name (ChatGPT) or an adapter id\n" +
			"(openai-compatible-chat); --list prints every adapter with its version and status.\n" +
			"Exit status: 0 extracted, 1 the body did not have the adapter's shape (\"unparsed\", with the reason).",
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			tab, err := extract.Default()
			if err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			lib, err := app.DefaultGatewayCatalog()
			if err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			if list {
				return aiExtractList(cmd.OutOrStdout(), tab, lib, asJSON)
			}
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			defer closeIn()
			raw, err := io.ReadAll(io.LimitReader(in, extract.DefaultMaxBody+64<<10))
			if err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			c, err := extract.ParseCapture(raw, extract.DefaultMaxBody)
			if err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			bare := !c.IsRequest && !c.IsResponse
			if bare {
				c.ContentType = contentType
				c.Header = http.Header{}
				if contentType != "" {
					c.Header.Set("Content-Type", contentType)
				}
				c.IsResponse = response
				c.IsRequest = !response
				c.Method, c.Host, c.Path = method, strings.ToLower(host), urlPath
			} else if contentType != "" {
				c.ContentType = contentType
				c.Header.Set("Content-Type", contentType)
			}
			if c.IsResponse && urlPath == "" {
				urlPath = c.Path
			}
			out := aiExtractOutput{}
			var (
				a    *extract.Adapter
				caps map[string]string
			)
			if c.IsRequest && !bare {
				m, ok := tab.Match(c.Method, c.Host, c.Path)
				if !ok {
					return fmt.Errorf("ai extract: no adapter recognises %s %s%s (gatehouse ai extract --list)", c.Method, c.Host, c.Path)
				}
				a, caps = m.Adapter, m.Captures
				if appFlag != "" {
					want, err := aiAdapters(tab, lib, appFlag)
					if err != nil {
						return err
					}
					if !containsAdapter(want, a) {
						return fmt.Errorf("ai extract: %s %s%s is adapter %s, not one of --app %s", c.Method, c.Host, c.Path, a.ID, appFlag)
					}
				}
			} else {
				if appFlag == "" {
					return errors.New("ai extract: --app is required for a response or a bare body (it has no URL to match)")
				}
				cands, err := aiAdapters(tab, lib, appFlag)
				if err != nil {
					return err
				}
				if a, caps, err = pickAdapter(cands, method, urlPath); err != nil {
					return err
				}
			}
			out.Adapter, out.Version, out.Status, out.App = a.ID, a.Version, a.Status, a.App
			if la := lib.App(a.App); la != nil {
				out.AppName = la.Name
			}
			unparsed := false
			if c.IsRequest {
				out.Kind = "request"
				r := c.HTTPRequest()
				if r.Method == "" {
					r.Method = a.Method
				}
				out.Request = a.ExtractRequest(r, caps, extract.Limits{})
				unparsed = out.Request.Unparsed != nil
			} else {
				out.Kind = "response"
				out.Response = a.ExtractResponse(c.ContentType, c.Body, extract.Limits{})
				unparsed = out.Response.Unparsed != nil
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(out); err != nil {
				return fmt.Errorf("ai extract: %w", err)
			}
			if unparsed {
				cmd.SilenceErrors, cmd.SilenceUsage = true, true
				return exitError(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&appFlag, "app", "", "application-library id or name, or adapter id")
	cmd.Flags().StringVar(&urlPath, "path", "", "the request path, for a response or a bare body")
	cmd.Flags().StringVar(&method, "method", "", "the request method, for a bare request body (default: the adapter's)")
	cmd.Flags().StringVar(&host, "host", "", "the request host, for a bare request body")
	cmd.Flags().StringVar(&contentType, "content-type", "", "the body's Content-Type (overrides the capture's)")
	cmd.Flags().BoolVar(&response, "response", false, "a bare body is a response (default: a request)")
	cmd.Flags().BoolVar(&list, "list", false, "list the adapters with their versions and status")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with --list: print JSON")
	return cmd
}

// aiAdapters resolves --app: an adapter id, an application id or an application name.
func aiAdapters(tab *extract.Table, lib *app.GatewayCatalog, s string) ([]*extract.Adapter, error) {
	if a := tab.Adapter(s); a != nil {
		return []*extract.Adapter{a}, nil
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		la := lib.AppByName(s)
		if la == nil {
			return nil, fmt.Errorf("ai extract: --app %q is no adapter id, application id or application name (gatehouse ai extract --list)", s)
		}
		id = la.ID
	}
	list := tab.ForApp(id)
	if len(list) == 0 || id == 0 {
		return nil, fmt.Errorf("ai extract: no adapter for application %q (gatehouse ai extract --list)", s)
	}
	return list, nil
}

func containsAdapter(list []*extract.Adapter, a *extract.Adapter) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// pickAdapter chooses among an application's adapters by path (and method), else its first
// prompt adapter.
func pickAdapter(cands []*extract.Adapter, method, urlPath string) (*extract.Adapter, map[string]string, error) {
	if urlPath != "" {
		for _, a := range cands {
			if method != "" && a.Method != method {
				continue
			}
			if caps, ok := a.MatchPath(urlPath); ok {
				return a, caps, nil
			}
		}
		ids := make([]string, len(cands))
		for i, a := range cands {
			ids[i] = a.ID
		}
		return nil, nil, fmt.Errorf("ai extract: no adapter of %s recognises the path %q", strings.Join(ids, ", "), urlPath)
	}
	if len(cands) == 1 {
		return cands[0], nil, nil
	}
	for _, a := range cands {
		if a.Control == extract.ControlPrompt {
			return a, nil, nil
		}
	}
	return cands[0], nil, nil
}

func aiExtractList(w io.Writer, tab *extract.Table, lib *app.GatewayCatalog, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(tab.Adapters())
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADAPTER\tVERSION\tSTATUS\tAPP\tCONTROL\tMETHOD\tHOSTS\tPATHS")
	for _, a := range tab.Adapters() {
		app := "any host"
		if la := lib.App(a.App); la != nil {
			app = fmt.Sprintf("%s (%d)", la.Name, a.App)
		}
		hosts := strings.Join(a.Hosts, ",")
		if hosts == "" {
			hosts = "*"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Version, a.Status, app, a.Control, a.Method, hosts, strings.Join(a.Paths, " "))
	}
	return tw.Flush()
}
