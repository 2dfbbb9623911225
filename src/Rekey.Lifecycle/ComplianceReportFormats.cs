using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rekey.Lifecycle;

/// <summary>A <see cref="ComplianceReport"/> written out: JSON for tools, Markdown for tickets, and one self-contained HTML page to print for an auditor.</summary>
public static class ComplianceReportFormats
{
    /// <summary>The formats <see cref="Write"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } = ["json", "markdown", "html"];

    /// <summary>The report in <paramref name="format"/> (<c>json</c>, <c>markdown</c> or <c>html</c>), with its media type.</summary>
    /// <exception cref="ArgumentException">Another format.</exception>
    public static (string Text, string MediaType) Write(ComplianceReport report, string format) => format switch
    {
        "json" => (JsonSerializer.Serialize(report, ReportJson.Default.ComplianceReport), "application/json"),
        "markdown" => (Markdown(report), "text/markdown; charset=utf-8"),
        "html" => (Html(report), "text/html; charset=utf-8"),
        _ => throw new ArgumentException($"The report format is json, markdown or html, not '{format}'.", nameof(format)),
    };

    private static string Markdown(ComplianceReport r)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"# Rekey key report: {r.Pattern}\n\nGenerated {T(r.GeneratedAt)}.\n\n");
        s.Append("## Audit log\n\n");
        s.Append(CultureInfo.InvariantCulture, $"- Verification: **{(r.Audit.Valid ? "valid" : "INVALID")}**, {r.Audit.Events} events, head `{r.Audit.Head}`{(r.Audit.Problem is null ? string.Empty : " — " + r.Audit.Problem)}\n");
        s.Append(CultureInfo.InvariantCulture, $"- Signed checkpoints: {r.Audit.Checkpoints}; latest: {(r.Audit.LatestCheckpoint is { } c ? $"event {c.Sequence} at {T(c.At)}, key {c.KeyId}" : "none")}\n\n");
        foreach (var k in r.Keys)
        {
            s.Append(CultureInfo.InvariantCulture, $"## Key `{k.Name}`\n\n");
            s.Append(CultureInfo.InvariantCulture, $"- Created {T(k.CreatedAt)}; Active version {k.ActiveVersion}; cryptoperiod {k.Cryptoperiod ?? "none set"}\n");
            s.Append(CultureInfo.InvariantCulture, $"- Last rotation: {(k.LastRotation is { } last ? $"{T(last.At)}, v{last.FromVersion} → v{last.ToVersion}, {last.Cause}, {last.Phase}" : "none")}; next scheduler check: {T(k.NextDue)}\n\n");
            if (k.Policy.Count > 0)
            {
                s.Append("| Policy rule | Value | From pattern |\n|---|---|---|\n");
                foreach (var p in k.Policy)
                {
                    s.Append(CultureInfo.InvariantCulture, $"| {Cell(p.Rule)} | {Cell(p.Value)} | {Cell(p.FromPattern)} |\n");
                }

                s.Append('\n');
            }

            foreach (var v in k.Versions)
            {
                s.Append(CultureInfo.InvariantCulture, $"### Version {v.Version}: {v.State} ({v.Origin})\n\n");
                if (v.Inventory.Count > 0)
                {
                    s.Append("Inventory: ").Append(string.Join("; ", v.Inventory.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.Source} {i.Count} values at {T(i.CountedAt)}")))).Append("\n\n");
                }

                if (v.DestructionEvidence is { } evidence)
                {
                    s.Append(CultureInfo.InvariantCulture, $"Destroyed {T(v.DestroyedAt)}. Evidence recorded with the destruction: {evidence}\n\n");
                }

                s.Append("| # | When | Action | By | Approved by | Reason | Outcome | Details |\n|---|---|---|---|---|---|---|---|\n");
                foreach (var h in v.History)
                {
                    s.Append(CultureInfo.InvariantCulture, $"| {h.Sequence} | {T(h.At)} | {Cell(h.Action)} | {Cell(h.Actor)} | {Cell(h.ApprovedBy ?? "-")} | {Cell(h.Reason ?? "")} | {Cell(h.Outcome)} | {Cell(h.Details ?? "")} |\n");
                }

                s.Append('\n');
            }
        }

        return s.ToString();
    }

    private static string Html(ComplianceReport r)
    {
        var s = new StringBuilder();
        s.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rekey key report</title><style>")
         .Append("body{font:13px/1.45 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:20px}h2{font-size:16px;margin-top:2em;border-bottom:1px solid #999}h3{font-size:14px}")
         .Append("table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}th{background:#eee}")
         .Append(".ok{color:#060;font-weight:bold}.bad{color:#a00;font-weight:bold}.evidence{background:#f4f8ff;border-left:3px solid #36c;padding:4px 8px}code{font-size:12px}")
         .Append("@media print{body{margin:0}h2{page-break-before:auto}tr{page-break-inside:avoid}}</style></head><body>");
        s.Append(CultureInfo.InvariantCulture, $"<h1>Rekey key report: {E(r.Pattern)}</h1><p>Generated {E(T(r.GeneratedAt))}.</p>");
        s.Append("<h2>Audit log</h2><table><tr><th>Verification</th><td>")
         .Append(r.Audit.Valid ? "<span class=\"ok\">valid</span>" : "<span class=\"bad\">INVALID</span> " + E(r.Audit.Problem ?? string.Empty))
         .Append(CultureInfo.InvariantCulture, $"</td></tr><tr><th>Events</th><td>{r.Audit.Events}</td></tr><tr><th>Head</th><td><code>{E(r.Audit.Head ?? "-")}</code></td></tr>")
         .Append(CultureInfo.InvariantCulture, $"<tr><th>Signed checkpoints</th><td>{r.Audit.Checkpoints}; latest: {E(r.Audit.LatestCheckpoint is { } c ? $"event {c.Sequence} at {T(c.At)}, key {c.KeyId}" : "none")}</td></tr></table>");
        foreach (var k in r.Keys)
        {
            s.Append(CultureInfo.InvariantCulture, $"<h2>Key <code>{E(k.Name)}</code></h2><table>")
             .Append(CultureInfo.InvariantCulture, $"<tr><th>Created</th><td>{E(T(k.CreatedAt))}</td><th>Active version</th><td>{k.ActiveVersion}</td><th>Cryptoperiod</th><td>{E(k.Cryptoperiod ?? "none set")}</td></tr>")
             .Append(CultureInfo.InvariantCulture, $"<tr><th>Last rotation</th><td colspan=\"3\">{E(k.LastRotation is { } last ? $"{T(last.At)}: v{last.FromVersion} → v{last.ToVersion}, {last.Cause}, {last.Phase}" : "none")}</td><th>Next check</th><td>{E(T(k.NextDue))}</td></tr></table>");
            if (k.Policy.Count > 0)
            {
                s.Append("<table><tr><th>Policy rule</th><th>Value</th><th>From pattern</th></tr>");
                foreach (var p in k.Policy)
                {
                    s.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(p.Rule)}</td><td>{E(p.Value)}</td><td>{E(p.FromPattern)}</td></tr>");
                }

                s.Append("</table>");
            }

            foreach (var v in k.Versions)
            {
                s.Append(CultureInfo.InvariantCulture, $"<h3>Version {v.Version}: {E(v.State)} ({E(v.Origin)})</h3>");
                if (v.Inventory.Count > 0)
                {
                    s.Append("<p>Inventory: ").Append(E(string.Join("; ", v.Inventory.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.Source} {i.Count} values at {T(i.CountedAt)}"))))).Append("</p>");
                }

                if (v.DestructionEvidence is { } evidence)
                {
                    s.Append(CultureInfo.InvariantCulture, $"<p class=\"evidence\">Destroyed {E(T(v.DestroyedAt))}. Evidence recorded with the destruction: {E(evidence)}</p>");
                }

                s.Append("<table><tr><th>#</th><th>When</th><th>Action</th><th>By</th><th>Approved by</th><th>Reason</th><th>Outcome</th><th>Details</th></tr>");
                foreach (var h in v.History)
                {
                    s.Append(CultureInfo.InvariantCulture, $"<tr><td>{h.Sequence}</td><td>{E(T(h.At))}</td><td>{E(h.Action)}</td><td>{E(h.Actor)}</td><td>{E(h.ApprovedBy ?? "-")}</td><td>{E(h.Reason ?? string.Empty)}</td><td>{E(h.Outcome)}</td><td>{E(h.Details ?? string.Empty)}</td></tr>");
                }

                s.Append("</table>");
            }
        }

        return s.Append("</body></html>").ToString();
    }

    private static string T(DateTimeOffset? t) => t is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    // Store text (actors, reasons, details) goes into the page escaped, and into Markdown cells without breaking the table.
    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ');
}

/// <summary>The report's JSON: snake_case, as the API writes it.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ComplianceReport))]
internal sealed partial class ReportJson : JsonSerializerContext;
