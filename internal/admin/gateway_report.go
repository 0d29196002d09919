package admin

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayReport serves GET /api/v1/gateway/report: the Shadow-AI discovery report
// (usage.Report) since ?since= (30d, 36h or 2026-11-01; default 30 days), with at most ?top=
// applications per review status (default 10).
func (a *API) gatewayReport(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	top := p.int("top", usage.DefaultTop, 1, 1000)
	since, err := usage.ParseSince(p.str("since"), a.svc.now())
	if err != nil && p.err == nil {
		p.err = &invalidParam{"since", "a number of days (30d), a duration (36h) or a date (2026-11-01)"}
	}
	if p.err != nil {
		return nil, nil, p.err
	}
	us, ok := a.svc.Store.(store.GatewayUsage)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the store keeps no gateway usage", ErrInvalid)
	}
	if a.svc.FlushGatewayUsage != nil {
		// This process's latest counts first; a failure leaves the report a flush behind.
		if err := a.svc.FlushGatewayUsage(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "admin API: gateway usage not flushed before the report", "err", err)
		}
	}
	cat, _ := applib.Default()
	rep, err := usage.Query(r.Context(), us, since, top, cat)
	if err != nil {
		return nil, nil, err
	}
	return rep, nil, nil
}
