package extract

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// HTTPRequest is the part of a request an adapter reads. Body must already be free of any
// Content-Encoding and at most Limits.MaxBody bytes (a longer body is Unparsed).
type HTTPRequest struct {
	Method string
	Host   string // lower case, no port
	Path   string // without query
	Query  url.Values
	Header http.Header
	Body   []byte
}

// ExtractRequest finds the adapter for a request and extracts it. It reports false when no
// adapter matches: the request is not one this package knows.
func (t *Table) ExtractRequest(r HTTPRequest, lim Limits) (*Request, bool) {
	m, ok := t.Match(r.Method, r.Host, r.Path)
	if !ok {
		return nil, false
	}
	return m.Adapter.ExtractRequest(r, m.Captures, lim), true
}

// ExtractRequest extracts a request this adapter matched (captures from MatchPath). The result
// is never nil; a body that does not have the adapter's shape gives a Request with Unparsed set.
func (a *Adapter) ExtractRequest(r HTTPRequest, captures map[string]string, lim Limits) *Request {
	lim = lim.withDefaults()
	out := &Request{Adapter: a.ID, Version: a.Version, App: a.App, Control: a.Control}
	if int64(len(r.Body)) > lim.MaxBody {
		out.Unparsed = unparsed(tooLarge("request body", lim.MaxBody), "request body larger than %d bytes", lim.MaxBody)
		return out
	}
	src := &sources{url: captures, query: r.Query, header: map[string]string{}}
	for k, v := range r.Header {
		if len(v) > 0 {
			src.header[strings.ToLower(k)] = v[0]
		}
	}
	spec := &a.Request
	var raw []Attachment
	switch spec.Body {
	case "json":
		body := trimSpace(r.Body)
		if len(body) == 0 {
			out.Unparsed = unparsed(nil, "empty body where JSON was expected")
			return out
		}
		if err := json.Unmarshal(body, &src.body); err != nil {
			out.Unparsed = unparsed(err, "body is not JSON")
			return out
		}
	case "form":
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			out.Unparsed = unparsed(err, "body is not form-encoded")
			return out
		}
		src.form = form
	case "multipart":
		form, files, err := readMultipart(r.Header.Get("Content-Type"), r.Body, lim)
		if err != nil {
			out.Unparsed = unparsed(err, "body is not multipart: %v", safeReason(err))
			return out
		}
		src.form, raw = form, files
	case "raw":
		at := Attachment{Type: mediaType(r.Header.Get("Content-Type")), Size: int64(len(r.Body))}
		if len(r.Body) > lim.MaxAttachment {
			at.Truncated = true
		} else {
			at.Data = r.Body
		}
		raw = append(raw, at)
	}
	if len(spec.only) > 0 {
		hit := false
		for _, p := range spec.only {
			if len(p.eval(src, nil)) > 0 {
				hit = true
				break
			}
		}
		if !hit {
			out.Control = ControlOther
			return out
		}
	}
	for _, p := range spec.require {
		if len(p.eval(src, nil)) == 0 {
			out.Unparsed = unparsed(nil, "body lacks %s", p.String())
			return out
		}
	}
	x := extraction{spec: spec, src: src, lim: lim,
		prompt: textBuf{max: lim.MaxText}, user: textBuf{max: lim.MaxText},
		context: textBuf{max: lim.MaxText}, system: textBuf{max: lim.MaxText}}
	x.atts = raw
	x.run()
	out.Prompt, out.UserText, out.Context, out.System = x.prompt.b.String(), x.user.b.String(), x.context.b.String(), x.system.b.String()
	out.Truncated = x.prompt.truncated || x.user.truncated || x.context.truncated || x.system.truncated
	out.Model = firstString(src, nil, spec.model)
	out.ConversationID = firstString(src, nil, spec.conversation)
	out.Attachments = dedupe(x.atts)
	if out.Control == ControlPrompt && out.Prompt == "" && out.UserText == "" && out.Context == "" && len(out.Attachments) == 0 {
		out.Unparsed = unparsed(nil, "no prompt found where the adapter expects one")
	}
	return out
}

// safeReason keeps the part of a decoding error worth showing (no internal paths).
func safeReason(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "too large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "cannot be read"
}

type extraction struct {
	spec                          *RequestSpec
	src                           *sources
	lim                           Limits
	prompt, user, context, system textBuf
	atts                          []Attachment
}

func (x *extraction) run() {
	spec := x.spec
	for _, p := range spec.system {
		for _, v := range p.eval(x.src, nil) {
			var t textBuf
			t.max = x.lim.MaxText
			x.content(v, &t, &x.context, 0)
			x.system.add("\n", t.b.String())
		}
	}
	for _, p := range spec.prompt {
		for _, v := range p.eval(x.src, nil) {
			var t textBuf
			t.max = x.lim.MaxText
			x.content(v, &t, &x.context, 0)
			x.prompt.add("\n", t.b.String())
			x.user.add("\n", t.b.String())
		}
	}
	for _, p := range spec.context {
		for _, v := range p.eval(x.src, nil) {
			x.content(v, &x.context, &x.context, 0)
		}
	}
	if m := spec.Messages; m != nil {
		msgs := m.path.eval(x.src, nil)
		lastUser := -1
		texts := make([]string, len(msgs))
		roles := make([]string, len(msgs))
		for i, msg := range msgs {
			role := firstString(x.src, msg, m.role)
			if role == "" {
				role = m.DefaultRole
			}
			roles[i] = role
			var t textBuf
			t.max = x.lim.MaxText
			target := &t
			ctx := &x.context
			switch {
			case contains(m.User, role):
				lastUser = i
			case contains(m.System, role):
			case contains(m.Context, role):
				target = &x.context
			default:
				continue // the model's own turns are not user-controlled
			}
			for _, cp := range m.content {
				for _, v := range cp.eval(x.src, msg) {
					x.content(v, target, ctx, 0)
				}
			}
			for i := range m.Attachments {
				x.attachments(&m.Attachments[i], msg)
			}
			texts[i] = t.b.String()
			switch {
			case contains(m.User, role):
				x.user.add("\n", texts[i])
			case contains(m.System, role):
				x.system.add("\n", texts[i])
			}
		}
		if lastUser >= 0 {
			x.prompt.add("\n", texts[lastUser])
		}
	}
	for i := range spec.Attachments {
		x.attachments(&spec.Attachments[i], nil)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// content reads a content value: a string, a list of parts, or one part. Text goes to text;
// context parts (tool results) to ctx.
func (x *extraction) content(v any, text, ctx *textBuf, depth int) {
	if depth > 8 {
		return
	}
	c := &x.spec.Content
	switch t := v.(type) {
	case string:
		text.add("\n", t)
	case []any:
		for _, e := range t {
			x.content(e, text, ctx, depth+1)
		}
	case map[string]any:
		for _, s := range c.skip {
			if len(s.eval(x.src, t)) > 0 {
				return
			}
		}
		for i := range c.Attachments {
			if len(c.Attachments[i].path.eval(x.src, t)) > 0 {
				x.attachments(&c.Attachments[i], t)
				return
			}
		}
		isCtx := false
		for _, s := range c.context {
			if len(s.eval(x.src, t)) > 0 {
				isCtx = true
				break
			}
		}
		if isCtx {
			found := false
			for _, p := range c.text {
				for _, s := range p.eval(x.src, t) {
					if str, ok := s.(string); ok {
						ctx.add("\n", str)
						found = true
					}
				}
			}
			for _, n := range c.nested {
				for _, nv := range n.eval(x.src, t) {
					x.content(nv, ctx, ctx, depth+1)
					found = true
				}
			}
			if !found {
				if b, err := json.Marshal(t); err == nil {
					ctx.add("\n", string(b))
				}
			}
			return
		}
		for _, p := range c.text {
			for _, s := range p.eval(x.src, t) {
				if str, ok := s.(string); ok {
					text.add("\n", str)
				}
			}
		}
	}
}

// attachments reads the attachments spec from node (nil: the body root).
func (x *extraction) attachments(s *AttachmentSpec, node any) {
	for _, n := range s.path.eval(x.src, node) {
		at := Attachment{
			Name: firstString(x.src, n, s.name),
			Type: firstString(x.src, n, s.typ),
			Ref:  firstString(x.src, n, s.ref),
		}
		if sz := firstString(x.src, n, s.size); sz != "" {
			if v, err := strconv.ParseInt(sz, 10, 64); err == nil && v >= 0 {
				at.Size = v
			}
		}
		if txt := firstString(x.src, n, s.text); txt != "" {
			at.Text = cutUTF8(txt, x.lim.MaxText)
			at.Truncated = len(txt) > x.lim.MaxText
			x.context.add("\n", at.Text)
		}
		if d := firstString(x.src, n, s.data); d != "" {
			x.decodeData(&at, d)
		}
		if at.Name == "" && at.Type == "" && at.Ref == "" && at.Text == "" && at.Data == nil && at.Size == 0 && !at.Truncated {
			continue
		}
		x.atts = append(x.atts, at)
	}
}

// decodeData fills Data from a data: URL or base64, or Ref from anything else (a URL, an id).
func (x *extraction) decodeData(at *Attachment, d string) {
	payload, isB64 := d, true
	if strings.HasPrefix(d, "data:") {
		meta, rest, ok := strings.Cut(d[5:], ",")
		if !ok {
			at.Ref = cutUTF8(d, 256)
			return
		}
		payload = rest
		isB64 = strings.HasSuffix(meta, ";base64")
		if at.Type == "" {
			at.Type = strings.TrimSuffix(meta, ";base64")
		}
		if !isB64 {
			if u, err := url.PathUnescape(rest); err == nil {
				payload = u
			}
			x.setData(at, []byte(payload))
			return
		}
	} else if strings.Contains(d, "://") {
		if at.Ref == "" {
			at.Ref = d
		}
		return
	}
	if base64.StdEncoding.DecodedLen(len(payload)) > x.lim.MaxAttachment {
		at.Truncated = true
		if at.Size == 0 {
			at.Size = int64(base64.StdEncoding.DecodedLen(len(payload)))
		}
		return
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(payload, "="))
	}
	if err != nil {
		if at.Ref == "" {
			at.Ref = cutUTF8(d, 256)
		}
		return
	}
	x.setData(at, b)
}

func (x *extraction) setData(at *Attachment, b []byte) {
	if len(b) > x.lim.MaxAttachment {
		at.Truncated = true
		return
	}
	at.Data = b
	if at.Size == 0 {
		at.Size = int64(len(b))
	}
}

// dedupe merges attachments naming the same reference (ChatGPT lists an image both as a part
// "file-service://file-X" and in metadata.attachments as "file-X").
func dedupe(in []Attachment) []Attachment {
	var out []Attachment
	key := func(r string) string {
		if i := strings.Index(r, "://"); i >= 0 {
			return r[i+3:]
		}
		return r
	}
next:
	for _, a := range in {
		if a.Ref != "" {
			for i := range out {
				if out[i].Ref != "" && key(out[i].Ref) == key(a.Ref) {
					if out[i].Name == "" {
						out[i].Name = a.Name
					}
					if out[i].Type == "" {
						out[i].Type = a.Type
					}
					if out[i].Size == 0 {
						out[i].Size = a.Size
					}
					continue next
				}
			}
		}
		out = append(out, a)
	}
	return out
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// readMultipart reads a multipart/form-data body: fields into form, file parts into
// attachments (bytes kept up to MaxAttachment).
func readMultipart(ct string, body []byte, lim Limits) (url.Values, []Attachment, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, nil, errorf(ErrMalformed, "no multipart boundary in the Content-Type")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	form := url.Values{}
	var files []Attachment
	for parts := 0; ; parts++ {
		if parts > 1000 {
			return nil, nil, tooLarge("multipart part count", 1000)
		}
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, errorf(ErrMalformed, "multipart part")
		}
		data, err := io.ReadAll(io.LimitReader(p, int64(lim.MaxAttachment)+1))
		if err != nil {
			return nil, nil, errorf(ErrMalformed, "multipart part")
		}
		if p.FileName() == "" {
			if len(data) > lim.MaxText {
				data = data[:lim.MaxText]
			}
			form.Add(p.FormName(), string(data))
			continue
		}
		at := Attachment{Name: p.FileName(), Type: mediaType(p.Header.Get("Content-Type")), Size: int64(len(data))}
		if len(data) > lim.MaxAttachment {
			at.Truncated = true
		} else {
			at.Data = data
		}
		files = append(files, at)
	}
	return form, files, nil
}
