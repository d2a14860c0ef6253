namespace SmartHub.McpServer.Chat;

/// <summary>
/// Consensus mode (from the AEGES guide): model id <c>consensus:&lt;a&gt;,&lt;b&gt;[,&lt;c&gt;...]</c> asks 2 to
/// <see cref="MaxModels"/> models the same question in parallel and answers with the one the others agree with most.
/// Agreement is measured on the answers' words: when answers are identical (after normalising case, spaces and
/// punctuation) the largest group wins ("majority"); otherwise the answer with the highest mean Jaccard similarity of
/// its word set to the others' ("similarity", the medoid). Ties go to the model listed first.
/// </summary>
public static class Consensus
{
    public const string Prefix = "consensus:";
    public const int MaxModels = 5;

    public static bool IsConsensus(string model) => model.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The member models, or null with what is wrong with the id.</summary>
    public static IReadOnlyList<string>? Parse(string model, out string? problem)
    {
        var members = model[Prefix.Length..].Split(',', StringSplitOptions.TrimEntries);
        if (members.Length < 2 || members.Length > MaxModels || members.Any(string.IsNullOrEmpty))
        {
            problem = $"A consensus model lists 2 to {MaxModels} models: consensus:<model>,<model>[,<model>...].";
            return null;
        }

        if (members.Distinct(StringComparer.Ordinal).Count() != members.Length)
        {
            problem = "A consensus model lists each model once.";
            return null;
        }

        if (members.Any(IsConsensus))
        {
            problem = "A consensus model cannot contain another consensus model.";
            return null;
        }

        problem = null;
        return members;
    }

    /// <summary>Index of the chosen answer, the strategy, the agreement (0-1) and each answer's mean similarity to the others.</summary>
    public static (int Chosen, string Strategy, double Agreement, double[] Similarity) Choose(IReadOnlyList<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var n = answers.Count;
        if (n == 1)
        {
            return (0, "single", 1, [1]);
        }

        var normalised = answers.Select(Normalise).ToArray();
        var words = normalised.Select(a => a.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal)).ToArray();
        var similarity = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < n; j++)
            {
                if (i != j)
                {
                    sum += Jaccard(words[i], words[j]);
                }
            }

            similarity[i] = sum / (n - 1);
        }

        var groups = normalised.Select((text, index) => (text, index)).GroupBy(a => a.text, StringComparer.Ordinal)
            .Select(g => (Size: g.Count(), First: g.Min(a => a.index))).OrderByDescending(g => g.Size).ThenBy(g => g.First).ToList();
        if (groups[0].Size >= 2)
        {
            return (groups[0].First, "majority", (double)groups[0].Size / n, similarity);
        }

        var chosen = 0;
        for (var i = 1; i < n; i++)
        {
            if (similarity[i] > similarity[chosen])
            {
                chosen = i;
            }
        }

        return (chosen, "similarity", similarity[chosen], similarity);
    }

    internal static double Jaccard(HashSet<string> a, HashSet<string> b)
    {
        if (a.Count == 0 && b.Count == 0)
        {
            return 1;
        }

        var common = a.Count(b.Contains);
        return (double)common / (a.Count + b.Count - common);
    }

    private static string Normalise(string text)
    {
        var builder = new System.Text.StringBuilder(text.Length);
        var space = true;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
                space = false;
            }
            else if (!space)
            {
                builder.Append(' ');
                space = true;
            }
        }

        return builder.ToString().TrimEnd();
    }
}
