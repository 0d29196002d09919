package store

import (
	"context"
	"time"
)

// PromptLog is one captured AI prompt (package ai/promptlog): who sent it to which AI
// application under which rule, what the classifier and DLP found, in the clear; and the prompt,
// the response and the attachments' metadata sealed to the administrator's public key in
// PayloadEnc. The store never sees a plaintext prompt.
type PromptLog struct {
	// ID is assigned by AppendPromptLogs: greater than every ID assigned before it in the
	// same database, never reused (it is the listing cursor).
	ID int64 `json:"id"`
	// Time is when the prompt was sent (UTC, microseconds, as every stored time).
	Time      time.Time `json:"ts"`
	RequestID string    `json:"request_id"`
	// UserEmail is the sender's address, lower-case ("" for a service token or an anonymous
	// client); UserGroups their groups when the prompt was sent.
	UserEmail  string   `json:"user_email"`
	UserGroups []string `json:"user_groups"`
	DeviceID   string   `json:"device_id"`
	SrcIP      string   `json:"src_ip"`
	// AppID is the application's id: the application library's number as a string ("1199"),
	// or an Access application's id for an internal LLM behind the reverse proxy.
	AppID     string `json:"app_id"`
	AppName   string `json:"app_name"`
	AppType   string `json:"app_type"`
	AppStatus string `json:"app_status"`
	// Control is the application's granular control the request was ("SendPrompt").
	Control        string `json:"control"`
	ConversationID string `json:"conversation_id"`
	Model          string `json:"model"`
	// PolicyID, PolicyName and PolicyAction are the deciding rule and what it did.
	PolicyID      string           `json:"policy_id"`
	PolicyName    string           `json:"policy_name"`
	PolicyAction  string           `json:"policy_action"`
	DLPProfiles   []string         `json:"dlp_profiles"`
	DLPEntries    []string         `json:"dlp_entries"`
	DLPConfidence string           `json:"dlp_confidence"`
	Topics        []PromptLogTopic `json:"topics"`
	BytesUp       int64            `json:"bytes_up"`
	// PayloadEnc is the sealed payload (an HPKE blob, opaque to the store); never empty.
	PayloadEnc []byte `json:"payload_enc"`
}

// PromptLogTopic is one topic the classifier gave a prompt ("intent_jailbreak", "high").
type PromptLogTopic struct {
	ID         string `json:"id"`
	Confidence string `json:"confidence"`
}

// PromptLogQuery filters ListPromptLogs. Zero fields do not filter; strings match exactly.
type PromptLogQuery struct {
	ConversationID string
	UserEmail      string
	// App matches the application's id or its name.
	App string
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Before is the cursor: only entries whose ID is below it (0: from the newest).
	Before int64
	// Limit is the most entries returned: default 100, at most 1000 (more is 1000).
	Limit int
}

// Limits of PromptLogQuery.Limit.
const (
	DefaultPromptLogLimit = 100
	MaxPromptLogLimit     = 1000
)

// PromptLogs stores the gateway's encrypted AI prompt logs. Optional (found by type
// assertion), like the admin capabilities; everything in the Store doc comment holds for it.
// Writes notify no watchers: logs are not configuration.
type PromptLogs interface {
	// AppendPromptLogs stores a batch in one transaction, all or none, and sets each entry's ID
	// (increasing in batch order) and Time (UTC, truncated to the microsecond). A zero Time, an
	// empty PayloadEnc or a negative BytesUp is an error wrapping none of the sentinels, and
	// nothing of the batch is stored. Safe for concurrent use, from several processes.
	AppendPromptLogs(ctx context.Context, logs []PromptLog) error
	// ListPromptLogs returns the entries q selects, newest (highest ID) first, at most
	// q.Limit. Listing again with Before set to the last entry's ID continues where the page
	// ended. The lists of an entry are never nil (empty when none), so that JSON shows [].
	ListPromptLogs(ctx context.Context, q PromptLogQuery) ([]PromptLog, error)
	// DeletePromptLogsBefore deletes the entries whose Time is before before and returns how
	// many went (the retention).
	DeletePromptLogsBefore(ctx context.Context, before time.Time) (int64, error)
}
