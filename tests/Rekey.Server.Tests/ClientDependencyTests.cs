using System.Reflection;
using Rekey.Client;

namespace Rekey.Server.Tests;

/// <summary>The client carries no store, root, crypto or server code: only the abstractions and the wire shapes.</summary>
public sealed class ClientDependencyTests
{
    [Fact]
    public void ClientClosure_HoldsOnlyAbstractionsAndApi()
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<Assembly>([typeof(RekeyClient).Assembly]);
        while (queue.Count > 0)
        {
            foreach (var reference in queue.Dequeue().GetReferencedAssemblies().Where(r => r.Name!.StartsWith("Rekey.", StringComparison.Ordinal)))
            {
                if (seen.Add(reference.Name!))
                {
                    queue.Enqueue(Assembly.Load(reference));
                }
            }
        }

        Assert.Equal(["Rekey.Abstractions", "Rekey.Api"], seen);
    }
}
