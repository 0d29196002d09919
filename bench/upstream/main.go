// Command upstream is the benchmark's origin server: it answers every request with 200 and a
// fixed body of about 100 bytes, so that what the benchmark measures is the proxy in front of it.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"time"
)

// body is the fixed response, 100 bytes with the trailing newline.
var body = []byte(`{"ok":true,"service":"gatehouse-bench-upstream","note":"fixed ~100-byte body for proxy benchmarks"}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (host:port)")
	flag.Parse()
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Content-Length", length)
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Printf("upstream listening on %s (%d-byte body)", *addr, len(body))
	log.Fatal(srv.ListenAndServe())
}
