package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// bar is one labelled value of a chart.
type bar struct {
	Label string
	Value int64
	// Text is the value as shown ("" shows the count).
	Text string
}

// chart is a server-rendered SVG chart with its text alternative: Title names it (the SVG's
// accessible name), Rows are the data the page also shows as a table.
type chart struct {
	ID, Title string
	Rows      []bar
	// Columns draws vertical columns (a series over days) instead of horizontal bars.
	Columns bool
	SVG     template.HTML
}

func (b bar) text() string {
	if b.Text != "" {
		return b.Text
	}
	return fmtCount(b.Value)
}

// newBars makes a horizontal bar chart: one row per bar, its label on the left and the value
// after the bar. Every text is escaped; the SVG needs no script or stylesheet.
func newBars(id, title string, rows []bar) chart {
	const (
		width  = 480
		rowH   = 30
		labelW = 190
		barMax = width - labelW - 90
	)
	var maxV int64
	for _, r := range rows {
		maxV = max(maxV, r.Value)
	}
	h := max(len(rows), 1)*rowH + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t" focusable="false" xmlns="http://www.w3.org/2000/svg">`, width, h, html.EscapeString(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, html.EscapeString(id), html.EscapeString(title+": "+summary(rows)))
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="20" fill="#4b5565" font-size="15">No data in this period.</text>`)
	}
	for i, r := range rows {
		y := i*rowH + 4
		w := 0
		if maxV > 0 {
			w = int(float64(barMax) * float64(r.Value) / float64(maxV))
		}
		if r.Value > 0 {
			w = max(w, 2)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#1d2330" font-size="15">%s</text>`, labelW-8, y+17, html.EscapeString(clip(r.Label, 24)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="20" rx="3" fill="#2456d6"/>`, labelW, y+4, w)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1d2330" font-size="15">%s</text>`, labelW+w+6, y+17, html.EscapeString(r.text()))
	}
	b.WriteString(`</svg>`)
	return chart{ID: id, Title: title, Rows: rows, SVG: template.HTML(b.String())} // #nosec: every text above is escaped
}

// newColumns makes a column chart of a series (days, oldest first), labelling the first, the
// middle and the last column.
func newColumns(id, title string, rows []bar) chart {
	const (
		width  = 480
		height = 180
		top    = 20
		bottom = 24
	)
	var maxV int64
	for _, r := range rows {
		maxV = max(maxV, r.Value)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t" focusable="false" xmlns="http://www.w3.org/2000/svg">`, width, height, html.EscapeString(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, html.EscapeString(id), html.EscapeString(title+": "+summary(rows)))
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#6b7487"/>`, height-bottom, width, height-bottom)
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<text x="0" y="40" fill="#4b5565" font-size="15">No data in this period.</text>`)
	}
	if n := len(rows); n > 0 {
		slot := float64(width) / float64(n)
		colW := max(slot*0.7, 1)
		plot := float64(height - top - bottom)
		for i, r := range rows {
			hgt := 0.0
			if maxV > 0 {
				hgt = plot * float64(r.Value) / float64(maxV)
			}
			x := float64(i)*slot + (slot-colW)/2
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2456d6"><title>%s</title></rect>`,
				x, float64(height-bottom)-hgt, colW, hgt, html.EscapeString(r.Label+": "+r.text()))
		}
		for _, i := range []int{0, n / 2, n - 1} {
			anchor := "middle"
			switch i {
			case 0:
				anchor = "start"
			case n - 1:
				anchor = "end"
			}
			x := float64(i)*slot + slot/2
			if i == 0 {
				x = 0
			} else if i == n-1 {
				x = width
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" fill="#1d2330" font-size="14">%s</text>`, x, height-6, anchor, html.EscapeString(rows[i].Label))
		}
		fmt.Fprintf(&b, `<text x="4" y="%d" fill="#1d2330" font-size="14">max %s</text>`, top-2, html.EscapeString(fmtCount(maxV)))
	}
	b.WriteString(`</svg>`)
	return chart{ID: id, Title: title, Rows: rows, Columns: true, SVG: template.HTML(b.String())} // #nosec: every text above is escaped
}

// summary is a short text of the chart's data for its accessible name.
func summary(rows []bar) string {
	if len(rows) == 0 {
		return "no data"
	}
	var parts []string
	for i, r := range rows {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more (see the table)", len(rows)-5))
			break
		}
		parts = append(parts, r.Label+" "+r.text())
	}
	return strings.Join(parts, ", ")
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
