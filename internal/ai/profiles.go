package ai

// TopicInfo names a built-in topic the way gateway rules and logs show it:
// its detection entry name and the predefined "AI Prompt" DLP profile that
// holds it (gateway-ai-spec §4.3).
type TopicInfo struct {
	ID      string
	Entry   string // "Intent: Jailbreak"
	Profile string // "AI Prompt: AI Security"
}

// Names of the predefined AI prompt profiles.
const (
	ProfileAISecurity = "AI Prompt: AI Security"
	ProfilePII        = "AI Prompt: PII"
	ProfileTechnical  = "AI Prompt: Technical"
	ProfileCustomer   = "AI Prompt: Customer"
	ProfileFinancial  = "AI Prompt: Financial Information"
)

// Topics describes the built-in topics, in TopicIDs order.
var Topics = []TopicInfo{
	{ContentPII, "Content: PII", ProfilePII},
	{ContentCredentials, "Content: Credentials and Secrets", ProfileTechnical},
	{ContentSourceCode, "Content: Source Code", ProfileTechnical},
	{ContentCustomerData, "Content: Customer Data", ProfileCustomer},
	{ContentFinancial, "Content: Financial Information", ProfileFinancial},
	{IntentPII, "Intent: PII", ProfilePII},
	{IntentCodeAbuse, "Intent: Code Abuse and Malicious Code", ProfileAISecurity},
	{IntentJailbreak, "Intent: Jailbreak", ProfileAISecurity},
}

// TopicByID returns the description of a built-in topic.
func TopicByID(id string) (TopicInfo, bool) {
	for _, t := range Topics {
		if t.ID == id {
			return t, true
		}
	}
	return TopicInfo{}, false
}
