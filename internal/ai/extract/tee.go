package extract

import "io"

// Tee passes a response body through to its reader unchanged and unbuffered while feeding each
// chunk to a Stream: Read returns exactly what one upstream Read returned, after handing a copy
// to the Stream (which decodes what is complete and keeps at most one partial unit), so a
// streamed answer reaches the client as it arrives and never waits for more upstream bytes.
// The Stream's memory is bounded by its Limits; a decoding failure there never disturbs the
// client.
type Tee struct {
	r      io.Reader
	s      *Stream
	closer io.Closer
}

// NewTee wraps an upstream body (closed by Close when it is an io.Closer).
func NewTee(upstream io.Reader, s *Stream) *Tee {
	t := &Tee{r: upstream, s: s}
	if c, ok := upstream.(io.Closer); ok {
		t.closer = c
	}
	return t
}

// Read reads from upstream and hands the bytes to the Stream.
func (t *Tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		_, _ = t.s.Write(p[:n])
	}
	if err == io.EOF {
		_ = t.s.Close()
	}
	return n, err
}

// Close closes the upstream body and finishes the Stream (a body cut short is then a partial
// answer: Result().Complete stays false).
func (t *Tee) Close() error {
	_ = t.s.Close()
	if t.closer != nil {
		return t.closer.Close()
	}
	return nil
}

// TeeWriter is the writer form: Write forwards to the client writer first, then copies what
// was written into the Stream. Use it where the proxy copies upstream into the client.
type TeeWriter struct {
	w io.Writer
	s *Stream
}

// NewTeeWriter wraps the client writer.
func NewTeeWriter(client io.Writer, s *Stream) *TeeWriter { return &TeeWriter{w: client, s: s} }

// Write forwards p to the client, then to the Stream.
func (t *TeeWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 {
		_, _ = t.s.Write(p[:n])
	}
	return n, err
}

// Flush flushes the client writer when it can (http.Flusher), so SSE events leave at once.
func (t *TeeWriter) Flush() {
	if f, ok := t.w.(interface{ Flush() }); ok {
		f.Flush()
	}
}
