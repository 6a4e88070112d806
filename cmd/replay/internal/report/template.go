package report

// pageHTML is the report template. It references no external asset: the
// styles are inline and the timeline is an inline SVG.
const pageHTML = `<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8" />
<title>CTI incident report: {{.Cluster}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #1d2733; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; }
.meta { color: #5b6b7b; font-size: 13px; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
td.detail { overflow-wrap: anywhere; }
td.ev { white-space: nowrap; }
th { background: #f3f6f9; }
td.num { text-align: right; white-space: nowrap; }
td.time { white-space: nowrap; font-family: ui-monospace, monospace; }
tr.bad td { background: #fff1f0; }
tr.good td { background: #f0fbf3; }
tr.derived td { color: #4a5a6a; font-style: italic; }
svg text { font-size: 11px; fill: #33414f; }
svg .lane-label { font-size: 12px; font-weight: 600; }
svg rect.in { fill: #3fa66b; }
svg rect.out { fill: #d9534f; }
svg rect.shut { fill: #8a8f94; }
svg rect.up { fill: #3b7dd8; }
svg rect.gap { fill: #f0a030; fill-opacity: 0.22; stroke: #f0a030; stroke-opacity: 0.6; }
svg rect.lane-bg { fill: #f3f6f9; }
svg line.tick { stroke: #d5dde5; }
svg line.m-ctimanagerlost { stroke: #b52a25; stroke-width: 2; }
svg line.m-provoutofservice { stroke: #d9534f; stroke-dasharray: 4 2; }
svg line.m-provinservice { stroke: #2d8a55; stroke-dasharray: 4 2; }
svg line.m-lastheartbeat { stroke: #6b4bb8; stroke-dasharray: 2 2; }
svg line.m-ctimanagerconnected { stroke: #3b7dd8; stroke-dasharray: 1 3; }
svg polyline.calls { fill: none; stroke: #1d2733; stroke-width: 1.5; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.sw { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body>
<h1>CTI incident report: cluster {{.Cluster}}</h1>
<div class="meta">{{.Start}} → {{.End}} {{.Zone}} ({{.Span}}) · source {{.Source}} · generated {{t .Generated}} · call counts folded from {{.Events}} events</div>

<h2>Timeline</h2>
<div class="legend">
<span><i class="sw" style="background:#3fa66b"></i>provider IN_SERVICE</span>
<span><i class="sw" style="background:#d9534f"></i>provider OUT_OF_SERVICE</span>
<span><i class="sw" style="background:#3b7dd8"></i>CTIManager link up</span>
<span><i class="sw" style="background:#f0a030;opacity:0.5"></i>observation gap</span>
<span><i class="sw" style="background:#b52a25"></i>loss detected</span>
<span><i class="sw" style="background:#6b4bb8"></i>last heartbeat heard</span>
</div>
<svg xmlns="http://www.w3.org/2000/svg" width="{{f1 .SVG.Width}}" height="{{f1 .SVG.Height}}" viewBox="0 0 {{f1 .SVG.Width}} {{f1 .SVG.Height}}" role="img" aria-label="Provider and CTIManager timeline with call counts">
{{- range .SVG.Ticks}}
<line class="tick" x1="{{f1 .X}}" y1="20" x2="{{f1 .X}}" y2="{{f1 $.SVG.ChartBottom}}" />
<text x="{{f1 .X}}" y="{{f1 $.SVG.AxisY}}" text-anchor="middle">{{.Label}}</text>
{{- end}}
{{- range .SVG.Lanes}}
<text class="lane-label" x="8" y="{{f1 .TextY}}">{{.Name}}</text>
<rect class="lane-bg" x="{{f1 $.SVG.Left}}" y="{{f1 .Y}}" width="{{f1 $.SVG.PlotW}}" height="34" />
{{- range .Rects}}
<rect class="{{.Class}}" x="{{f1 .X}}" y="{{f1 .Y}}" width="{{f1 .W}}" height="{{f1 .H}}"><title>{{.Title}}</title></rect>
{{- end}}
{{- end}}
<text class="lane-label" x="8" y="{{f1 $.SVG.ChartTop}}" dy="14">calls</text>
<rect class="lane-bg" x="{{f1 $.SVG.Left}}" y="{{f1 $.SVG.ChartTop}}" width="{{f1 $.SVG.PlotW}}" height="{{f1 $.SVG.ChartH}}" />
{{- range .SVG.YTicks}}
<text x="{{f1 (sub $.SVG.Left 6)}}" y="{{f1 .X}}" text-anchor="end" dy="4">{{.Label}}</text>
{{- end}}
{{- if .SVG.Poly}}
<polyline class="calls" points="{{.SVG.Poly}}"><title>calls in progress (max {{.SVG.MaxCalls}})</title></polyline>
{{- end}}
{{- range .SVG.Gaps}}
<rect class="gap" x="{{f1 .X}}" y="{{f1 .Y}}" width="{{f1 .W}}" height="{{f1 .H}}"><title>{{.Title}}</title></rect>
{{- end}}
{{- range .SVG.Markers}}
<line class="{{.Class}}" x1="{{f1 .X}}" y1="{{f1 $.SVG.LanesTop}}" x2="{{f1 .X}}" y2="{{f1 $.SVG.ChartBottom}}"><title>{{.Title}}</title></line>
{{- end}}
</svg>

{{- if .Failover}}
<h2>Failovers</h2>
<table>
<tr><th>#</th><th>From → to</th><th>Reason</th><th>Last heard</th><th>Detected</th><th>Detection</th><th>Out of service (addr / term / calls)</th><th>Back in service</th><th>Outage</th><th>Snapshot / ended / discovered</th><th>Gap</th></tr>
{{- range .Failover}}
<tr><td class="num">{{.N}}</td><td>{{.From}} → {{.To}}</td><td>{{.Reason}}</td><td class="time">{{t .LastHeard}}</td><td class="time">{{t .Detected}}</td><td class="num">{{ms .DetectionMs}} (heartbeat {{ms .HeartbeatMs}})</td><td>{{.AddressesOOS}} / {{.TerminalsOOS}} / {{.CallsUnobserved}}</td><td class="time">{{t .InServiceAt}}</td><td class="num">{{ms .OutageMs}}</td><td>{{.CallsSnapshot}} / {{.CallsEnded}} / {{.CallsDiscovered}}</td><td class="num">{{ms .GapMs}}</td></tr>
{{- end}}
</table>
{{- end}}

<h2>Events</h2>
<table>
<tr><th>Time ({{$.Zone}})</th><th>+prev</th><th>since loss</th><th>Event</th><th>Count</th><th>CTIManager</th><th>Detail</th></tr>
{{- range .Rows}}
<tr class="{{.Class}}"><td class="time">{{.Time}}</td><td class="num">{{.Prev}}</td><td class="num">{{.Loss}}</td><td class="ev">{{.Event}}</td><td class="num">{{.Count}}</td><td class="ev">{{.Manager}}</td><td class="detail">{{.Detail}}</td></tr>
{{- end}}
</table>
</body>
</html>
`
