using System.Text;
using System.Text.RegularExpressions;

namespace TokenWire.Server.Tests;

/// <summary>
/// Issue #10: the namespaces of TokenWire.Server.Core are layers (docs/architecture.md, "Layers"), so none may depend on
/// itself through others. Read from the source rather than the assembly: a namespace uses another when one of its files
/// says <c>using TokenWire.Server.X;</c> or names <c>TokenWire.Server.X.</c> in full, which is what a reader sees too
/// (an unused using counts).
/// </summary>
public sealed partial class NamespaceDependencyTests
{
    [Fact]
    public void Server_core_namespaces_have_no_dependency_cycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepositoryRoot(), "src", "TokenWire.Server.Core"));

        Assert.True(graph.Namespaces.Count > 5, $"Read only {graph.Namespaces.Count} namespaces: is the source where this test looks?");
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "Namespace cycles in TokenWire.Server.Core:\n" + string.Join("\n", cycles.Select(graph.Describe)));
    }

    [Fact]
    public void A_cycle_of_three_namespaces_is_found_and_acyclic_edges_are_not()
    {
        var graph = new NamespaceGraph();
        graph.Add("Channels", "Presence", "Channels/LocalChannel.cs");
        graph.Add("Presence", "Publishing", "Presence/PresenceService.cs");
        graph.Add("Publishing", "Channels", "Publishing/ChannelPublisher.cs");
        graph.Add("Connections", "Channels", "Connections/RealtimeServices.cs");
        graph.Add("Channels", "Engine", "Channels/LocalChannel.cs");

        var cycle = Assert.Single(graph.Cycles());

        Assert.Equal(["Channels", "Presence", "Publishing"], cycle);
        Assert.Contains("Publishing -> Channels (Publishing/ChannelPublisher.cs)", graph.Describe(cycle), StringComparison.Ordinal);
    }

    [Fact]
    public void Both_directions_of_a_two_cycle_are_reported_from_using_and_fully_qualified_references()
    {
        var directory = Directory.CreateTempSubdirectory("namespace-graph-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "A.cs"), "using TokenWire.Server.Engine;\n\nnamespace TokenWire.Server.Auth;\n");
            File.WriteAllText(Path.Combine(directory.FullName, "B.cs"), "namespace TokenWire.Server.Engine;\n\nclass B { TokenWire.Server.Auth.A? a; }\n");
            File.WriteAllText(Path.Combine(directory.FullName, "C.cs"), "namespace TokenWire.Server.Log;\n\n// Not TokenWire.Server.Core: a project, not a namespace.\n");

            var graph = NamespaceGraph.Read(directory.FullName);

            Assert.Equal(["Auth", "Engine"], Assert.Single(graph.Cycles()));
            Assert.Equal(["Auth", "Engine", "Log"], graph.Namespaces);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TokenWire.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Cannot find the repository root (TokenWire.sln) above {AppContext.BaseDirectory}");
    }

    /// <summary>Namespaces (the segment after <c>TokenWire.Server.</c>) and, per edge, the files that make it.</summary>
    private sealed partial class NamespaceGraph
    {
        private readonly SortedDictionary<string, SortedDictionary<string, SortedSet<string>>> _edges = new(StringComparer.Ordinal);

        public IReadOnlyList<string> Namespaces => [.. _edges.Keys];

        public static NamespaceGraph Read(string projectDirectory)
        {
            var files = Directory.EnumerateFiles(projectDirectory, "*.cs", SearchOption.AllDirectories)
                .Select(path => (Path: Path.GetRelativePath(projectDirectory, path).Replace('\\', '/'), Text: File.ReadAllText(path)))
                .Where(file => !file.Path.StartsWith("obj/", StringComparison.Ordinal) && !file.Path.StartsWith("bin/", StringComparison.Ordinal))
                .Select(file => (file.Path, file.Text, Namespace: NamespaceDeclaration().Match(file.Text) is { Success: true } m ? m.Groups[1].Value : null))
                .Where(file => file.Namespace is not null)
                .ToList();

            var graph = new NamespaceGraph();
            foreach (var file in files)
            {
                graph.Node(file.Namespace!);
            }

            foreach (var file in files)
            {
                foreach (Match reference in Reference().Matches(file.Text))
                {
                    var used = reference.Groups[1].Value;
                    if (used != file.Namespace && graph._edges.ContainsKey(used))
                    {
                        graph.Add(file.Namespace!, used, file.Path);
                    }
                }
            }

            return graph;
        }

        public void Add(string from, string to, string file)
        {
            Node(to);
            var targets = Node(from);
            if (!targets.TryGetValue(to, out var files))
            {
                targets[to] = files = new SortedSet<string>(StringComparer.Ordinal);
            }

            files.Add(file);
        }

        /// <summary>Every group of namespaces that reach each other (Tarjan's strongly connected components of more than one), each sorted.</summary>
        public List<List<string>> Cycles()
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var low = new Dictionary<string, int>(StringComparer.Ordinal);
            var stack = new Stack<string>();
            var cycles = new List<List<string>>();

            void Visit(string node)
            {
                index[node] = low[node] = index.Count;
                stack.Push(node);
                foreach (var next in _edges[node].Keys)
                {
                    if (!index.ContainsKey(next))
                    {
                        Visit(next);
                        low[node] = Math.Min(low[node], low[next]);
                    }
                    else if (stack.Contains(next))
                    {
                        low[node] = Math.Min(low[node], index[next]);
                    }
                }

                if (low[node] == index[node])
                {
                    var component = new List<string>();
                    string member;
                    do
                    {
                        member = stack.Pop();
                        component.Add(member);
                    }
                    while (member != node);

                    if (component.Count > 1)
                    {
                        component.Sort(StringComparer.Ordinal);
                        cycles.Add(component);
                    }
                }
            }

            foreach (var node in _edges.Keys)
            {
                if (!index.ContainsKey(node))
                {
                    Visit(node);
                }
            }

            return cycles;
        }

        /// <summary>The namespaces of one cycle and every edge between them, with the files that make it.</summary>
        public string Describe(IReadOnlyList<string> cycle)
        {
            var text = new StringBuilder().Append("- ").AppendJoin(", ", cycle).Append(':');
            foreach (var from in cycle)
            {
                foreach (var (to, files) in _edges[from].Where(edge => cycle.Contains(edge.Key)))
                {
                    text.Append("\n    ").Append(from).Append(" -> ").Append(to).Append(" (").AppendJoin(", ", files).Append(')');
                }
            }

            return text.ToString();
        }

        private SortedDictionary<string, SortedSet<string>> Node(string name)
        {
            if (!_edges.TryGetValue(name, out var targets))
            {
                _edges[name] = targets = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
            }

            return targets;
        }

        [GeneratedRegex(@"^namespace\s+TokenWire\.Server\.(\w+)", RegexOptions.Multiline)]
        private static partial Regex NamespaceDeclaration();

        /// <summary>A using directive (plain, static or alias) or a fully-qualified name: both read <c>TokenWire.Server.X</c>.</summary>
        [GeneratedRegex(@"\bTokenWire\.Server\.(\w+)\b")]
        private static partial Regex Reference();
    }
}
