// Package promptlog owns AI prompt logs: the entry recorded for each captured prompt to an AI
// application (who, which application and model, which conversation, the deciding rule, what
// DLP and the topic classifier found) with the prompt, the model's response and the
// attachments' metadata sealed with HPKE to the administrator's public key, the DLP payload
// encryption (package dlp, dlp.payload_log.public_key). Metadata stays in the clear so that logs
// can be filtered; the plaintext of a prompt is never written to the store, to a log line or to
// the audit log, and only the holder of the private key can read it (Open).
//
// A Writer is what the gateway and the reverse proxy call: Log queues an entry without
// blocking, and one goroutine seals and stores what is queued in batches (store.PromptLogs).
// What does not fit the bounded queue is dropped, counted and reported in a log line; Close
// writes what is queued. The Writer also deletes entries past the retention.
package promptlog

import (
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Entry is one prompt log entry, in the JSON of gateway-ai-spec §4.4: metadata in the clear,
// the prompt and response only in PayloadEnc.
type Entry struct {
	// ID is the store's (0 before the entry is stored); the listing cursor.
	ID int64 `json:"id,omitempty"`
	// Time is when the prompt was sent; Log uses the writer's clock when it is zero.
	Time      time.Time `json:"ts"`
	RequestID string    `json:"request_id"`
	User      User      `json:"user"`
	DeviceID  string    `json:"device_id"`
	SrcIP     string    `json:"src_ip"`
	App       App       `json:"app"`
	// Control is the application's granular control ("SendPrompt", "Upload").
	Control        string  `json:"control"`
	ConversationID string  `json:"conversation_id"`
	Model          string  `json:"model"`
	Policy         Policy  `json:"policy"`
	DLP            DLP     `json:"dlp"`
	Topics         []Topic `json:"topics"`
	BytesUp        int64   `json:"bytes_up"`
	// PayloadEnc is the sealed Payload (Seal); base64 in JSON. Log sets it.
	PayloadEnc []byte `json:"payload_enc"`
}

// User is who sent the prompt.
type User struct {
	// Email is stored lower-case, and filters match it lower-case.
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

// App is the AI application the prompt went to.
type App struct {
	// ID is the application library's id as a string ("1199"), or the Access application's
	// id for an internal LLM behind the reverse proxy.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// Policy is the rule that decided, and its action.
type Policy struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
}

// DLP is what the DLP profiles found in the prompt.
type DLP struct {
	Profiles   []string `json:"profiles"`
	Entries    []string `json:"entries"`
	Confidence string   `json:"confidence"`
}

// Topic is one topic the classifier gave the prompt, by its stable id ("intent_jailbreak").
type Topic struct {
	ID         string `json:"id"`
	Confidence string `json:"confidence"`
}

// Record returns the entry as the store keeps it.
func (e *Entry) Record() store.PromptLog {
	topics := make([]store.PromptLogTopic, len(e.Topics))
	for i, t := range e.Topics {
		topics[i] = store.PromptLogTopic{ID: t.ID, Confidence: t.Confidence}
	}
	return store.PromptLog{
		ID: e.ID, Time: e.Time, RequestID: e.RequestID, UserEmail: NormalizeEmail(e.User.Email), UserGroups: e.User.Groups,
		DeviceID: e.DeviceID, SrcIP: e.SrcIP, AppID: e.App.ID, AppName: e.App.Name, AppType: e.App.Type, AppStatus: e.App.Status,
		Control: e.Control, ConversationID: e.ConversationID, Model: e.Model,
		PolicyID: e.Policy.ID, PolicyName: e.Policy.Name, PolicyAction: e.Policy.Action,
		DLPProfiles: e.DLP.Profiles, DLPEntries: e.DLP.Entries, DLPConfidence: e.DLP.Confidence,
		Topics: topics, BytesUp: e.BytesUp, PayloadEnc: e.PayloadEnc,
	}
}

// FromRecord returns a stored entry as an Entry. Lists are never nil.
func FromRecord(r *store.PromptLog) Entry {
	topics := make([]Topic, len(r.Topics))
	for i, t := range r.Topics {
		topics[i] = Topic{ID: t.ID, Confidence: t.Confidence}
	}
	return Entry{
		ID: r.ID, Time: r.Time, RequestID: r.RequestID, User: User{Email: r.UserEmail, Groups: nonNil(r.UserGroups)},
		DeviceID: r.DeviceID, SrcIP: r.SrcIP, App: App{ID: r.AppID, Name: r.AppName, Type: r.AppType, Status: r.AppStatus},
		Control: r.Control, ConversationID: r.ConversationID, Model: r.Model,
		Policy: Policy{ID: r.PolicyID, Name: r.PolicyName, Action: r.PolicyAction},
		DLP:    DLP{Profiles: nonNil(r.DLPProfiles), Entries: nonNil(r.DLPEntries), Confidence: r.DLPConfidence},
		Topics: topics, BytesUp: r.BytesUp, PayloadEnc: r.PayloadEnc,
	}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// NormalizeEmail is the form user addresses are stored and filtered in: trimmed, lower-case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
