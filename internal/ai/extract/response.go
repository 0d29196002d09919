package extract

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Stream reassembles a response incrementally: Write it the response body as it arrives (any
// split), then Close and read Result. Memory is bounded by Limits: one framed unit, the answer
// text (MaxText) and, for patch streams, the patched state (MaxBody). A Stream is not safe for
// concurrent use.
type Stream struct {
	a        *Adapter
	spec     *ResponseSpec
	lim      Limits
	ct       string
	dec      Decoder
	head     []byte // bytes held until the framing is known
	res      Response
	segs     []segment
	segIndex map[string]int
	total    int
	patch    *patchState
	failed   bool
	closed   bool
	pathErr  error
}

// segment is one message of the answer. Deltas (op append) are copied into text, appended in
// place; snapshots (op set, longest) keep references to the values (immutable strings, or
// textNodes of a patch state that grow in place), so a snapshot costs nothing to record and
// the answer is assembled once, in Result. Either way a long streamed answer costs time linear
// in its size.
type segment struct {
	key  string
	text []byte
	vals []any // string or *textNode
	size int
}

func (sg *segment) len() int {
	if sg.vals == nil {
		return len(sg.text)
	}
	return sg.size
}

// textNode is a string of a patch stream's state that grows by appends.
type textNode struct{ b []byte }

func valueLen(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case *textNode:
		return len(x.b)
	}
	return 0
}

// NewStream starts reassembling a response of this adapter; contentType is the response's
// Content-Type ("" when unknown: the framing is then sniffed).
func (a *Adapter) NewStream(contentType string, lim Limits) *Stream {
	s := &Stream{a: a, spec: &a.Response, lim: lim.withDefaults(), ct: mediaType(contentType)}
	s.res = Response{Adapter: a.ID, Version: a.Version, App: a.App}
	if s.spec.Patch != "" {
		s.patch = &patchState{dialect: s.spec.Patch, roots: map[string]any{}, max: s.lim.MaxBody}
	}
	if f := framingForType(s.ct); f != "" && f != FramingJSON && s.allowed(f) {
		s.start(f)
	}
	return s
}

func framingForType(ct string) Framing {
	switch ct {
	case "text/event-stream":
		return FramingSSE
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines":
		return FramingNDJSON
	case "application/vnd.amazon.eventstream":
		return FramingEventStream
	case "application/json", "text/json", "application/json+protobuf", "text/plain":
		return FramingJSON
	}
	return ""
}

func (s *Stream) allowed(f Framing) bool {
	for _, x := range s.spec.Framings {
		if x == f {
			return true
		}
	}
	return false
}

func (s *Stream) start(f Framing) {
	s.dec, _ = NewDecoder(f, s.lim, s.event)
}

// Write feeds response bytes. After a decoding failure it keeps accepting (and ignoring) bytes
// so a Tee never disturbs the client; the failure is in Result().Unparsed.
func (s *Stream) Write(p []byte) (int, error) {
	n := len(p)
	if s.failed || s.closed {
		return n, nil
	}
	if s.dec == nil {
		s.head = append(s.head, p...)
		if len(trimSpace(s.head)) < 16 && len(s.head) < 4096 {
			return n, nil
		}
		s.choose()
		p, s.head = s.head, nil
	}
	if _, err := s.dec.Write(p); err != nil {
		s.fail(err)
	}
	return n, nil
}

// choose picks the framing from the held head bytes.
func (s *Stream) choose() {
	f := Sniff(s.head)
	switch {
	case f != "" && s.allowed(f):
	case f == FramingJSONArray && s.allowed(FramingJSON):
		f = FramingJSON
	case f == FramingNDJSON && s.allowed(FramingJSON) && !s.allowed(FramingNDJSON):
		f = FramingJSON // let the JSON parser report what is wrong
	default:
		f = s.spec.Framings[0]
	}
	s.start(f)
}

func (s *Stream) fail(err error) {
	if s.res.Unparsed == nil {
		s.res.Unparsed = unparsed(err, "response %s", safeDecodeReason(err))
	}
	s.failed = true
}

func safeDecodeReason(err error) string {
	var u *Unparsed
	switch {
	case errors.As(err, &u):
		return u.Reason
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrMalformed):
		return err.Error() // our own messages, no user data in them
	}
	return "could not be decoded"
}

// Close flushes the decoder. It returns nothing worth failing a proxied response for: look at
// Result().Unparsed.
func (s *Stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.failed {
		return nil
	}
	if s.dec == nil {
		if len(trimSpace(s.head)) == 0 {
			return nil
		}
		s.choose()
		head := s.head
		s.head = nil
		if _, err := s.dec.Write(head); err != nil {
			s.fail(err)
			return nil
		}
	}
	if err := s.dec.Close(); err != nil {
		s.fail(err)
	}
	return nil
}

// Result returns what was reassembled so far (call after Close for the final answer).
func (s *Stream) Result() *Response {
	r := s.res
	var b strings.Builder
	for i := range s.segs {
		sg := &s.segs[i]
		if sg.len() == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		if sg.vals == nil {
			b.Write(sg.text)
			continue
		}
		for _, v := range sg.vals {
			switch x := v.(type) {
			case string:
				b.WriteString(x)
			case *textNode:
				b.Write(x.b)
			}
		}
	}
	r.Text = b.String()
	if len(r.Text) > s.lim.MaxText {
		r.Text = cutUTF8(r.Text, s.lim.MaxText)
		r.Truncated = true
	}
	if r.Unparsed == nil && s.closed && r.Text == "" && s.pathErr != nil {
		r.Unparsed = unparsed(s.pathErr, "response %s", safeDecodeReason(s.pathErr))
	}
	if r.Unparsed == nil && s.closed && r.Events == 0 && !r.Complete {
		r.Unparsed = unparsed(nil, "response has no events the adapter knows")
	}
	return &r
}

// event handles one decoded unit.
func (s *Stream) event(ev Event) error {
	spec := s.spec
	if ev.Done {
		if spec.completeDone {
			s.res.Complete = true
		}
		return nil
	}
	for _, e := range spec.completeEvents {
		if ev.Name == e {
			s.res.Complete = true
		}
	}
	if len(trimSpace(ev.Data)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(ev.Data, &v); err != nil {
		// SSE keep-alives and non-JSON notices are not errors of the stream.
		return nil
	}
	s.res.Events++
	raw := &sources{body: v}
	state := raw
	if s.patch != nil && (len(spec.PatchEvents) == 0 || contains(spec.PatchEvents, ev.Name)) {
		if m, ok := v.(map[string]any); ok && s.patch.isPatch(m) {
			root, err := s.patch.apply(m, len(ev.Data))
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			if err != nil {
				s.pathErr = err
			} else {
				state = &sources{body: root}
			}
		}
	}
	s.texts(ev, state)
	for _, src := range []*sources{state, raw} {
		if s.res.Model == "" || src == state {
			if m := firstString(src, nil, spec.model); m != "" {
				s.res.Model = m
			}
		}
		if s.res.ConversationID == "" {
			s.res.ConversationID = firstString(src, nil, spec.conversation)
		}
		if s.res.ResponseID == "" {
			s.res.ResponseID = firstString(src, nil, spec.id)
		}
		for _, c := range spec.complete {
			if len(c.eval(src, nil)) > 0 {
				s.res.Complete = true
			}
		}
		if state == raw {
			break
		}
	}
	return nil
}

func (s *Stream) texts(ev Event, src *sources) {
	for _, r := range s.spec.Text {
		if r.Event != "" && r.Event != ev.Name {
			continue
		}
		var vals []any
		size := 0
		for _, v := range r.path.eval(src, nil) {
			if n := valueLen(v); n > 0 {
				vals = append(vals, v)
				size += n
			}
		}
		if len(vals) == 0 {
			continue
		}
		key := ""
		if s.spec.key != nil {
			key = firstString(src, nil, []Path{*s.spec.key})
		}
		s.segment(key, vals, size, r.Op)
		return
	}
}

func (s *Stream) segment(key string, vals []any, size int, op string) {
	i, ok := s.segIndex[key]
	if !ok {
		if s.segIndex == nil {
			s.segIndex = map[string]int{}
		}
		s.segs = append(s.segs, segment{key: key})
		i = len(s.segs) - 1
		s.segIndex[key] = i
	}
	sg := &s.segs[i]
	old := sg.len()
	switch op {
	case "append":
		if sg.vals != nil { // a snapshot followed by deltas: continue from the snapshot's text
			sg.text = sg.text[:0]
			for _, v := range sg.vals {
				sg.text = appendValue(sg.text, v)
			}
			sg.vals, sg.size = nil, 0
		}
		for _, v := range vals {
			room := s.lim.MaxText - s.total - (len(sg.text) - old)
			if room <= 0 {
				s.res.Truncated = true
				break
			}
			before := len(sg.text)
			sg.text = appendValue(sg.text, v)
			if added := sg.text[before:]; len(added) > room {
				sg.text = sg.text[:before+len(cutUTF8(string(added), room))]
				s.res.Truncated = true
			}
		}
	case "set", "longest":
		if op == "longest" && size <= old {
			return
		}
		sg.text, sg.vals, sg.size = nil, vals, size
	}
	s.total += sg.len() - old
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return append(b, x...)
	case *textNode:
		return append(b, x.b...)
	}
	return b
}

// patchState applies the patch streams of two web clients.
//
// ChatGPT (v1 delta encoding): {c?,p?,o?,v}; a missing c, p or o is carried over from the
// previous delta; JSON Pointer paths; ops add, append, replace, patch (a list of sub-ops, no
// carry-over inside), truncate, remove; p "" with add installs a new root.
//
// DeepSeek: {p?,o?,v} with slash paths without a leading slash and ops APPEND, SET, BATCH (sub-ops
// relative to p). Nothing is carried over: a bare {"v": "text"} appends to the last fragment's
// content, a bare {"v": {"response": …}} installs the root, and a path without an op appends a
// string to a …/content path and sets anything else (response/status) — the reading of the
// reference client (gpt4free deepseek/stream.py).
type patchState struct {
	dialect string
	roots   map[string]any
	c, p, o string
	bytes   int
	max     int64
}

var errPatch = errors.New("patch does not apply")

// isPatch reports whether an event carries patches (other events are read as they are).
func (ps *patchState) isPatch(ev map[string]any) bool {
	if ps.dialect == "perplexity" {
		blocks, _ := ev["blocks"].([]any)
		for _, b := range blocks {
			if bm, ok := b.(map[string]any); ok && bm["diff_block"] != nil {
				return true
			}
		}
		return false
	}
	_, hasV := ev["v"]
	return hasV
}

// applyPerplexity applies the RFC 6902-style patches of each block's diff_block to the state of
// its field; the state handed to the text rules is {field: document}.
func (ps *patchState) applyPerplexity(ev map[string]any) (any, error) {
	root, _ := ps.roots[""].(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	blocks, _ := ev["blocks"].([]any)
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		db, _ := bm["diff_block"].(map[string]any)
		field, _ := db["field"].(string)
		patches, _ := db["patches"].([]any)
		if field == "" {
			continue
		}
		for _, p := range patches {
			pm, ok := p.(map[string]any)
			if !ok {
				return root, errPatch
			}
			path, _ := pm["path"].(string)
			op, _ := pm["op"].(string)
			if op == "" {
				op = "replace"
			}
			doc, err := ps.applyOp(root[field], path, strings.ToLower(op), pm["value"])
			if err != nil {
				return root, err
			}
			root[field] = doc
		}
	}
	ps.roots[""] = root
	return root, nil
}

func (ps *patchState) apply(ev map[string]any, size int) (any, error) {
	ps.bytes += size
	if int64(ps.bytes) > ps.max {
		return nil, tooLarge("patched response state", ps.max)
	}
	if c, ok := ev["c"]; ok {
		ps.c, _ = scalarString(c)
	}
	p, hasP := ev["p"].(string)
	o, hasO := ev["o"].(string)
	switch ps.dialect {
	case "deepseek":
		return ps.applyDeepSeek(p, hasP, strings.ToLower(o), ev["v"])
	case "perplexity":
		return ps.applyPerplexity(ev)
	}
	if hasP {
		ps.p = p
	}
	if hasO {
		ps.o = strings.ToLower(o)
	}
	if _, hasC := ev["c"]; hasC && (!hasP || p == "") {
		// A channel's first delta carries its whole document: {"c":1,"v":{…}} (chat2api reads it
		// so even without p and o).
		if doc, ok := ev["v"].(map[string]any); ok {
			ps.roots[ps.c] = doc
			return doc, nil
		}
	}
	op := ps.o
	if op == "" && ps.p == "" {
		op = "add"
	}
	root, err := ps.applyOp(ps.roots[ps.c], ps.p, op, ev["v"])
	if err != nil {
		return ps.roots[ps.c], err
	}
	ps.roots[ps.c] = root
	return root, nil
}

func (ps *patchState) applyDeepSeek(p string, hasP bool, op string, v any) (any, error) {
	_, isString := v.(string)
	switch {
	case !hasP && isString:
		p, op = "response/fragments/-1/content", "append"
	case !hasP && op == "":
		p, op = "", "set"
	case op == "":
		if isString && strings.HasSuffix(p, "/content") {
			op = "append"
		} else {
			op = "set"
		}
	}
	root, err := ps.applyOp(ps.roots[""], p, op, v)
	if err != nil {
		return ps.roots[""], err
	}
	ps.roots[""] = root
	return root, nil
}

func (ps *patchState) applyOp(root any, p, op string, v any) (any, error) {
	switch op {
	case "patch", "batch":
		list, ok := v.([]any)
		if !ok {
			return root, errPatch
		}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return root, errPatch
			}
			sp, _ := m["p"].(string)
			so, _ := m["o"].(string)
			so = strings.ToLower(so)
			if op == "batch" {
				if so == "" {
					so = "set"
				}
				sp = joinPointer(p, sp)
			}
			var err error
			if root, err = ps.applyOp(root, sp, so, m["v"]); err != nil {
				return root, err
			}
		}
		return root, nil
	}
	toks := splitPointer(p)
	return applyAt(root, toks, op, v, 0)
}

func joinPointer(base, rel string) string {
	base = strings.Trim(base, "/")
	rel = strings.Trim(rel, "/")
	switch {
	case base == "":
		return rel
	case rel == "":
		return base
	}
	return base + "/" + rel
}

func splitPointer(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	toks := strings.Split(p, "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func applyAt(node any, toks []string, op string, v any, depth int) (any, error) {
	if depth > 64 {
		return node, errPatch
	}
	if len(toks) == 0 {
		return combine(node, op, v)
	}
	tok := toks[0]
	switch n := node.(type) {
	case nil:
		return applyAt(map[string]any{}, toks, op, v, depth+1)
	case map[string]any:
		if op == "remove" && len(toks) == 1 {
			delete(n, tok)
			return n, nil
		}
		c, err := applyAt(n[tok], toks[1:], op, v, depth+1)
		if err != nil {
			return n, err
		}
		n[tok] = c
		return n, nil
	case []any:
		if tok == "-" && len(toks) == 1 {
			if op == "append" {
				if list, ok := v.([]any); ok {
					return append(n, list...), nil
				}
			}
			return append(n, v), nil
		}
		if op == "add" && len(toks) == 1 {
			if i, err := pointerIndex(tok, len(n)+1); err == nil && !strings.HasPrefix(tok, "-") {
				n = append(n, nil)
				copy(n[i+1:], n[i:])
				n[i] = v
				return n, nil
			}
		}
		i, err := pointerIndex(tok, len(n))
		if err != nil {
			return n, err
		}
		if op == "remove" && len(toks) == 1 {
			return append(n[:i], n[i+1:]...), nil
		}
		c, err := applyAt(n[i], toks[1:], op, v, depth+1)
		if err != nil {
			return n, err
		}
		n[i] = c
		return n, nil
	}
	return node, errPatch
}

func pointerIndex(tok string, n int) (int, error) {
	i := 0
	neg := strings.HasPrefix(tok, "-")
	digits := strings.TrimPrefix(tok, "-")
	if digits == "" || len(digits) > 9 {
		return 0, errPatch
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errPatch
		}
		i = i*10 + int(c-'0')
	}
	if neg {
		i = n - i
	}
	if i < 0 || i >= n {
		return 0, errPatch
	}
	return i, nil
}

func combine(old any, op string, v any) (any, error) {
	switch op {
	case "add", "replace", "set", "":
		return v, nil
	case "append":
		switch o := old.(type) {
		case nil:
			return v, nil
		case string:
			// The first append turns the string into a node that grows in place: a streamed
			// answer of n deltas costs O(n), not O(n²) copies.
			if s, ok := v.(string); ok {
				return &textNode{b: append([]byte(o), s...)}, nil
			}
		case *textNode:
			if s, ok := v.(string); ok {
				o.b = append(o.b, s...)
				return o, nil
			}
		case []any:
			if list, ok := v.([]any); ok {
				return append(o, list...), nil
			}
			return append(o, v), nil
		}
		return old, errPatch
	case "truncate":
		f, ok := v.(float64)
		if !ok || f < 0 {
			return old, errPatch
		}
		n := int(f)
		switch o := old.(type) {
		case string:
			if r := []rune(o); n < len(r) {
				return string(r[:n]), nil
			}
			return o, nil
		case *textNode:
			i, runes := 0, 0
			for i < len(o.b) && runes < n {
				_, size := utf8.DecodeRune(o.b[i:])
				i += size
				runes++
			}
			o.b = o.b[:i]
			return o, nil
		case []any:
			if n < len(o) {
				return o[:n], nil
			}
			return o, nil
		}
		return old, errPatch
	case "remove":
		return nil, nil
	}
	return old, errPatch
}

// ExtractResponse reassembles a whole response body at once (captures, tests).
func (a *Adapter) ExtractResponse(contentType string, body []byte, lim Limits) *Response {
	s := a.NewStream(contentType, lim)
	_, _ = s.Write(body)
	_ = s.Close()
	return s.Result()
}
