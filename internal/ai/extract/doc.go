// Package extract owns the extraction adapters of AI prompt protection: it recognises a request
// to an AI application or model API by (host, method, path), and pulls out what the policy
// engine, the topic classifier and the prompt log need: the application, the control (prompt,
// upload, other), the latest user turn and all user-controlled text, the system prompt, the model,
// the conversation id, the attachments, and — from the response, while it streams to the client —
// the answer text.
//
// Adapters are data: adapters.yaml (embedded) lists each adapter's id, application-library id,
// hosts, method, path patterns, body format, field paths and version, and whether its wire format
// is documented by the vendor or reverse-engineered. Code exists only for the framings the data
// names: Server-Sent Events, NDJSON, streamed JSON arrays, Google's length-prefixed frames, AWS
// event-stream binary frames (CRCs verified), form-encoded and multipart bodies, and the patch
// streams of the ChatGPT, DeepSeek and Perplexity web clients.
//
// Every decoder is bounded (Limits): input past a cap is an error that names the cap, never an
// unbounded buffer. A body of a known application that does not parse comes back as an
// Unparsed result with the reason, so the caller applies the application's FailMode.
//
// Responses are reassembled incrementally (Stream) and Tee passes each chunk to the client before
// handing a copy to the Stream, so a streamed answer reaches the user as it arrives.
package extract
