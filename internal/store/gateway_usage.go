package store

import (
	"context"
	"time"
)

// GatewayUsageRow is one daily rollup of the secure web gateway's traffic (Shadow-AI
// discovery): the requests of one UTC day to one application with one review status, action
// and category, and their bytes.
type GatewayUsageRow struct {
	// Day is the UTC day (midnight, UTC). Writers may pass any time of the day; the store keeps
	// its UTC date.
	Day time.Time `json:"day"`
	// AppID is the application library's id (0: hosts the library does not know), AppName its
	// name (the latest written wins).
	AppID   int    `json:"app_id"`
	AppName string `json:"app_name"`
	// Status is the application's review status when the requests were made.
	Status string `json:"status"`
	// Action is the action taken ("allow", "block", ..., or "refused" for the gateway's own
	// refusals), Category what the requests were ("prompt", "upload" or "other").
	Action   string `json:"action"`
	Category string `json:"category"`
	// Requests, BytesUp and BytesDown are counters: writes add to them.
	Requests  int64 `json:"requests"`
	BytesUp   int64 `json:"bytes_up"`
	BytesDown int64 `json:"bytes_down"`
}

// GatewayUsageUser records that a user (or service token) used an application on a day.
type GatewayUsageUser struct {
	Day   time.Time // as GatewayUsageRow.Day
	AppID int
	// User identifies the user: a user ID, or "service_token:" and a service token ID.
	User string
}

// GatewayUsageBatch is what a flush of the usage recorder writes.
type GatewayUsageBatch struct {
	Rows  []GatewayUsageRow
	Users []GatewayUsageUser
}

// GatewayUsageSummary is the usage since a day, summed in the store.
type GatewayUsageSummary struct {
	// Rows are the rollups summed over the days, one per application, status, action and
	// category (Day is the last day the key was seen; AppName the greatest non-empty name
	// written for it, or ""), ordered by application id, status, action, category.
	Rows []GatewayUsageRow
	// AppUsers counts the distinct users of each application over the days.
	AppUsers map[int]int64
	// AppDays count the distinct users of each application on each day with any, ordered by
	// application id and day.
	AppDays []GatewayUsageAppDay
	// Days are the totals of each day with any usage, oldest first.
	Days []GatewayUsageDay
}

// GatewayUsageAppDay is the number of distinct users of one application on one day.
type GatewayUsageAppDay struct {
	Day   time.Time `json:"day"`
	AppID int       `json:"-"`
	Users int64     `json:"users"`
}

// GatewayUsageDay is one day's total usage.
type GatewayUsageDay struct {
	Day       time.Time `json:"day"`
	Requests  int64     `json:"requests"`
	BytesUp   int64     `json:"bytes_up"`
	BytesDown int64     `json:"bytes_down"`
	// Users counts the distinct users of the day, over all applications.
	Users int64 `json:"users"`
}

// GatewayUsage stores the gateway's daily usage rollups, so that Shadow-AI reports read a few
// rows per application and day however many requests there were. Optional (found by type
// assertion), like the admin capabilities; everything in the Store doc comment holds for it.
// Writes notify no watchers: usage is not configuration.
type GatewayUsage interface {
	// AddGatewayUsage applies a batch in one transaction: each row's counters are added to the
	// stored row of the same day, application, status, action and category (created when
	// missing; AppName is overwritten when not empty), and each user is recorded once per day
	// and application (recording one again changes nothing). Rows or users repeating a key
	// within the batch add up (rows) or count once (users). Negative counters, an empty
	// Status, Action, Category or User, and a zero Day are errors wrapping none of the
	// sentinels, and nothing of the batch is applied. Concurrent batches (from several
	// processes) add up exactly.
	AddGatewayUsage(ctx context.Context, b *GatewayUsageBatch) error
	// GatewayUsageSince sums the rollups and counts the users of the UTC days from since's
	// UTC day on (a zero since means every day kept).
	GatewayUsageSince(ctx context.Context, since time.Time) (*GatewayUsageSummary, error)
	// DeleteGatewayUsageBefore deletes the rollups and users of the UTC days before before's
	// UTC day and returns how many rollup rows went.
	DeleteGatewayUsageBefore(ctx context.Context, before time.Time) (int64, error)
}

// GatewayAppUser is a user (or service token) of an application and the last UTC day they
// used it.
type GatewayAppUser struct {
	// User is as GatewayUsageUser.User: a user ID, or "service_token:" and a service token ID.
	User    string    `json:"user"`
	LastDay time.Time `json:"last_day"`
}

// Limits of GatewayAppUsers.
const (
	DefaultGatewayAppUsersLimit = 100
	MaxGatewayAppUsersLimit     = 1000
)

// GatewayUsageUsers says who used an application (Shadow-AI discovery's "who uses it"), from the
// same rollups as GatewayUsage. Optional (found by type assertion); everything in the Store doc
// comment holds for it.
type GatewayUsageUsers interface {
	// GatewayAppUsers returns the users of application appID whose last use is on or after
	// since's UTC day (a zero since means every day kept) — the users GatewayUsageSince counts
	// in AppUsers — most recent first, then by User, at most limit (0: the default, above the
	// maximum: the maximum).
	GatewayAppUsers(ctx context.Context, appID int, since time.Time, limit int) ([]GatewayAppUser, error)
}

// UsageDay returns t's UTC day as a time (midnight UTC), the key of usage rollups.
func UsageDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
