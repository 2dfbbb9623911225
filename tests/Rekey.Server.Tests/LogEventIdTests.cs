using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Rekey.Server.Tests;

/// <summary>Alerts match on event ids (docs/operations.md), so no two log entries may share one.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogEntry_HasItsOwnEventId_AndTheOperationsGuideListsIt()
    {
        var assemblies = new[] { typeof(Hosting.RekeyServerHost).Assembly, typeof(Storage.Postgres.PostgresKeyStore).Assembly };
        var entries = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();
        Assert.True(entries.Count > 20, $"only {entries.Count} log entries found");

        var shared = entries.GroupBy(e => e.Attribute!.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method.DeclaringType!.Name + "." + e.Method.Name))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice: " + string.Join("; ", shared));

        var guide = File.ReadAllText(Path.Combine(Testing.RepositoryPaths.Root, "docs", "operations.md"));
        var missing = entries.Select(e => e.Attribute!.EventId).Where(id => !guide.Contains(id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "event ids not in docs/operations.md: " + string.Join(", ", missing));
    }
}
