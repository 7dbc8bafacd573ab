package timeline

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// Write renders p as one self-contained HTML document: the page's data
// as JSON, and the CSS and script that draw it; nothing is fetched.
func Write(w io.Writer, p Page) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	data, err := encode(p)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// No request leaves the page: not even for a favicon.
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n")
	b.WriteString("<link rel=\"icon\" href=\"data:,\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", html.EscapeString(p.Title), pageCSS)
	fmt.Fprintf(&b, "<header><h1>%s</h1>", html.EscapeString(p.Title))
	if p.Command != "" {
		fmt.Fprintf(&b, "<p class=\"command\"><code>%s</code></p>", html.EscapeString(p.Command))
	}
	b.WriteString("</header>\n<main id=\"rr-main\"><noscript>This page draws its timelines with JavaScript.</noscript></main>\n")
	b.WriteString("<div id=\"rr-tip\" role=\"tooltip\" hidden></div>\n")
	// encoding/json escapes <, > and &, so the data cannot close the
	// script element.
	b.WriteString("<script type=\"application/json\" id=\"rr-data\">")
	b.Write(data)
	b.WriteString("</script>\n<script>\n")
	b.WriteString(pageJS)
	b.WriteString("</script>\n</body>\n</html>\n")
	_, err = w.Write(b.Bytes())
	return err
}

// The page's data, as the script reads it. Stories are laid out here and
// stored once however many properties tell them; their strings are
// interned in one table, since the stories of a library check repeat
// the same routes and reasons thousands of times. Array layouts (indices
// into the string table are marked $):
//
//	lane:   [name$, kind$]
//	event:  [x, t_ms, lane, objectLane, relatedLane, label$, op$, text$, reason$, host$, state$, outcome$]
//	window: [lane, x0, x1, name$, t0_ms, t1_ms, open, cut]
//	band:   [lane, x0, x1, state$, class$]
type pageData struct {
	Strings []string    `json:"strings"`
	Stories []storyData `json:"stories"`
	Groups  []groupData `json:"groups"`
	Matrix  *Matrix     `json:"matrix"`
	Title   string      `json:"title"`
	Command string      `json:"command,omitempty"`
}

type storyData struct {
	Timed   bool    `json:"timed"`
	Width   float64 `json:"width"`
	Lanes   [][]any `json:"lanes"`
	Events  [][]any `json:"events"`
	Windows [][]any `json:"windows"`
	Bands   [][]any `json:"bands"`
}

type groupData struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Rates       []Rate       `json:"rates,omitempty"`
	Reports     []reportData `json:"reports"`
}

type reportData struct {
	Report
	Properties []propertyData `json:"properties"`
}

type propertyData struct {
	Property
	// Story indexes pageData.Stories, -1 when none.
	Story int `json:"story"`
}

// encoder interns strings and stories.
type encoder struct {
	d       pageData
	str     map[string]int
	stories map[string]int
}

func (e *encoder) s(v string) int {
	if i, ok := e.str[v]; ok {
		return i
	}
	e.str[v] = len(e.d.Strings)
	e.d.Strings = append(e.d.Strings, v)
	return len(e.d.Strings) - 1
}

func encode(p Page) ([]byte, error) {
	e := &encoder{d: pageData{Title: p.Title, Command: p.Command, Matrix: p.Matrix, Strings: []string{}, Stories: []storyData{}, Groups: []groupData{}},
		str: map[string]int{}, stories: map[string]int{}}
	n := 0
	for _, g := range p.Groups {
		gd := groupData{Name: g.Name, Description: g.Description, Rates: g.Rates, Reports: []reportData{}}
		for _, r := range g.Reports {
			n++
			if r.ID == "" {
				r.ID = "r" + strconv.Itoa(n)
			}
			rd := reportData{Report: r, Properties: []propertyData{}}
			for _, pr := range r.Properties {
				pd := propertyData{Property: pr, Story: -1}
				if pr.Story != nil {
					idx, err := e.story(pr)
					if err != nil {
						return nil, err
					}
					pd.Story = idx
				}
				rd.Properties = append(rd.Properties, pd)
			}
			gd.Reports = append(gd.Reports, rd)
		}
		e.d.Groups = append(e.d.Groups, gd)
	}
	return json.Marshal(e.d)
}

// story lays out pr's story once per distinct story.
func (e *encoder) story(pr Property) (int, error) {
	d := layout(pr.Story)
	sd := storyData{Timed: d.timed, Width: round(d.width), Lanes: [][]any{}, Events: [][]any{}, Windows: [][]any{}, Bands: [][]any{}}
	for _, l := range d.lanes {
		sd.Lanes = append(sd.Lanes, []any{e.s(l.name), e.s(l.kind)})
	}
	for _, p := range d.events {
		op := ""
		if p.e.Op != 0 && p.e.Op != ' ' {
			op = string(rune(p.e.Op))
		}
		label := string(p.e.Label)
		sd.Events = append(sd.Events, []any{round(p.x), p.e.T, p.lane, p.obj, p.rel, e.s(label), e.s(op),
			e.s(p.e.Text), e.s(p.e.Reason), e.s(p.e.Host), e.s(p.e.State), e.s(p.e.Outcome.String())})
	}
	for _, w := range d.windows {
		sd.Windows = append(sd.Windows, []any{w.lane, round(w.x0), round(w.x1), e.s(w.name), w.t0, w.t1, w.open, w.cut})
	}
	for _, b := range d.bands {
		sd.Bands = append(sd.Bands, []any{b.lane, round(b.x0), round(b.x1), e.s(b.text), e.s(b.class)})
	}
	key, err := json.Marshal(sd)
	if err != nil {
		return 0, err
	}
	if i, ok := e.stories[string(key)]; ok {
		return i, nil
	}
	e.stories[string(key)] = len(e.d.Stories)
	e.d.Stories = append(e.d.Stories, sd)
	return len(e.d.Stories) - 1, nil
}

func round(x float64) float64 { return math.Round(x*10) / 10 }
