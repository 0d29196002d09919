package gateway

import "time"

// Event is what the gateway tells its EventSink about one request or tunnel: the fields of its
// log line ("gateway request") in a typed form. Values are copied; the sink may keep them.
type Event struct {
	// Time is when the request arrived.
	Time time.Time
	// UserID, Email and DeviceID are set for a user's device credentials, ServiceTokenID for a
	// service token; all are empty when the request was refused before it authenticated.
	UserID         string
	Email          string
	DeviceID       string
	ServiceTokenID string
	// Location is the gateway.locations entry of the client's address ("" when none).
	Location string
	// Host is the destination host (normalised; "" for requests to the gateway itself).
	Host   string
	Method string
	// AppID and AppName are the destination's application in the application library (0 and
	// "" when the library does not know the host), AppStatus its review status.
	AppID     int
	AppName   string
	AppStatus string
	// RuleID and RuleName name the HTTP policy that decided ("" for the default action); Action
	// is the action taken ("" when no policy decided).
	RuleID   string
	RuleName string
	Action   string
	// Category is what the request was: "prompt", "upload" or "other" ("" when unknown).
	Category string
	// Status is the HTTP status answered (200 for an established tunnel); Outcome is
	// "forwarded", "tunnel", "intercepted", "refused" or "local"; Reason says why a request
	// was refused.
	Status  int
	Outcome string
	Reason  string
	// BytesUp and BytesDown count the body (or tunnel) bytes from the client and to it.
	BytesUp   int64
	BytesDown int64
}

// EventSink receives an Event for every request and tunnel, once its log line is written.
// Record is called on the request path: it must return at once and never block (drop the event
// and count the drop when it cannot keep up). It is called from many goroutines at once.
type EventSink interface {
	Record(Event)
}

func (g *Gateway) emit(e *entry, status int, down int64, user, email, token, location, device string) {
	if g.events == nil {
		return
	}
	g.events.Record(Event{
		Time: e.start, UserID: user, Email: email, DeviceID: device, ServiceTokenID: token,
		Location: location, Host: e.dest.Host, Method: e.method,
		AppID: e.appID, AppName: e.appName, AppStatus: e.appStatus,
		RuleID: e.ruleID, RuleName: e.ruleName, Action: e.action, Category: e.category,
		Status: status, Outcome: e.outcome, Reason: e.reason, BytesUp: e.up, BytesDown: down,
	})
}
