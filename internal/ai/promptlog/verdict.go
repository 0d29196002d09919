package promptlog

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/extract"
)

// FromVerdict returns the parts of an entry that come from what prompt protection read and
// found (control, conversation, model, profiles, entries, topics) and the payload to seal
// (prompt, system prompt, attachments). The caller adds who sent it, the application, the
// decision and the time.
func FromVerdict(v *ai.PromptVerdict) (Entry, Payload) {
	req := v.Request
	e := Entry{Control: controlName(req.Control), ConversationID: req.ConversationID, Model: req.Model,
		DLP: DLP{Profiles: v.Profiles, Entries: v.Entries, Confidence: ai.TopConfidence(v.Topics)}}
	for _, t := range v.Topics {
		e.Topics = append(e.Topics, Topic{ID: t.ID, Confidence: t.Confidence})
	}
	p := Payload{Prompt: req.Prompt, SystemPrompt: req.System, Truncated: req.Truncated}
	if p.Prompt == "" {
		p.Prompt = req.UserText
	}
	for _, a := range req.Attachments {
		pa := Attachment{Name: a.Name, ContentType: a.Type, Size: a.Size}
		if len(a.Data) > 0 {
			sum := sha256.Sum256(a.Data)
			pa.SHA256 = hex.EncodeToString(sum[:])
		}
		p.Attachments = append(p.Attachments, pa)
	}
	return e, p
}

// controlName is a control's name in prompt logs (Cloudflare's granular control names).
func controlName(c extract.Control) string {
	switch c {
	case extract.ControlPrompt:
		return "SendPrompt"
	case extract.ControlUpload:
		return "Upload"
	}
	return string(c)
}
